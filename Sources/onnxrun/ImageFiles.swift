// The images `classify` reads: files as given, folders expanded to the JPEG and PNG files under them.

import Foundation
import ONNXRun

enum ImageFiles {
    static let extensions: Set<String> = ["jpg", "jpeg", "png", "jpe", "jfif"]

    /// Files as given; folders replaced by the JPEG and PNG files under them (recursively, sorted).
    static func expand(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ONNXRunError(.io, "no such file or folder", file: path)
            }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            guard let enumerator = FileManager.default.enumerator(atPath: path) else {
                throw ONNXRunError(.io, "cannot list the folder", file: path)
            }
            var found: [String] = []
            while let relative = enumerator.nextObject() as? String {
                let fileExtension = (relative as NSString).pathExtension.lowercased()
                if extensions.contains(fileExtension) {
                    found.append((path as NSString).appendingPathComponent(relative))
                }
            }
            guard !found.isEmpty else { throw ONNXRunError(.io, "the folder holds no JPEG or PNG files", file: path) }
            files += found.sorted()
        }
        return files
    }
}
