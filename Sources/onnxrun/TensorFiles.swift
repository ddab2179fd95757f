// Tensors from files for `run`: `[NAME=]FILE` arguments, .npy or TensorProto .pb, matched to the model's inputs or outputs.

import Foundation
import ONNXRun

enum TensorFiles {
    /// A tensor read from a file, with the name given on the command line or stored in the .pb file.
    struct NamedTensor {
        var name: String?
        var tensor: Tensor
        var path: String
    }

    // MARK: - Reading

    /// Reads `.npy` (NumPy) or `.pb` (ONNX TensorProto); other extensions are recognised by the NumPy magic bytes.
    static func read(_ path: String) throws -> (storedName: String?, tensor: Tensor) {
        let lowercased = path.lowercased()
        if lowercased.hasSuffix(".npy") || (!lowercased.hasSuffix(".pb") && hasNumpyMagic(path)) {
            return (nil, try NumpyFile.read(contentsOf: path))
        }
        let (name, tensor) = try ModelLoader.loadTensor(contentsOf: path)
        return (name.isEmpty ? nil : name, tensor)
    }

    private static func hasNumpyMagic(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 6)) ?? Data()
        return magic == Data([0x93] + Array("NUMPY".utf8))
    }

    // MARK: - Matching `[NAME=]FILE` to names

    /// Splits `NAME=FILE` when NAME is one of `names`; otherwise the whole argument is a file.
    static func split(_ argument: String, names: [String]) -> (name: String?, path: String) {
        if let equals = argument.firstIndex(of: "="), names.contains(String(argument[..<equals])) {
            return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
        }
        return (nil, argument)
    }

    /// Reads each `[NAME=]FILE` argument and assigns it to one of `names` (the model's inputs or outputs).
    /// A file without a name goes to the name stored in its .pb, or to the only name when there is one.
    static func assign(_ arguments: [String], to names: [String], role: String) throws -> [String: NamedTensor] {
        var assigned: [String: NamedTensor] = [:]
        for argument in arguments {
            let (givenName, path) = split(argument, names: names)
            guard FileManager.default.fileExists(atPath: path) else {
                if let equals = argument.firstIndex(of: "="), givenName == nil {
                    throw CommandLineError(
                        "the model has no \(role) '\(argument[..<equals])' (\(role)s: \(list(names))), "
                            + "and no file '\(argument)' exists")
                }
                throw ONNXRunError(.io, "no such file", file: path)
            }
            let (storedName, tensor) = try read(path)
            let name: String
            if let givenName {
                name = givenName
            } else if let storedName, names.contains(storedName) {
                name = storedName
            } else if names.count == 1 {
                name = names[0]
            } else {
                throw CommandLineError(
                    "the model has \(names.count) \(role)s; name the one '\(path)' is for with NAME=FILE "
                        + "(\(role)s: \(list(names)))")
            }
            guard assigned[name] == nil else {
                throw CommandLineError("two files given for \(role) '\(name)'")
            }
            assigned[name] = NamedTensor(name: name, tensor: tensor, path: path)
        }
        return assigned
    }

    static func list(_ names: [String]) -> String {
        names.map { "'\($0)'" }.joined(separator: ", ")
    }

    // MARK: - Writing

    /// A file name from a value name: letters, digits, `.`, `-` and `_` kept, everything else `_`.
    static func fileSafeName(_ name: String) -> String {
        var result = String(name.unicodeScalars.map { scalar -> Character in
            let isSafe = (scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar))) || "._-".unicodeScalars.contains(scalar)
            return isSafe ? Character(scalar) : "_"
        })
        // No hidden files, no `..`, no empty names.
        while result.hasPrefix(".") { result = "_" + result.dropFirst() }
        if result.isEmpty { result = "_" }
        return String(result.prefix(200))
    }
}
