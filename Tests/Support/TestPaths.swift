// Where the tests find the project's committed models and the optional ../shared reference material.

import Foundation
import XCTest

public enum TestPaths {
    /// The package root (the folder holding Package.swift).
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url
            }
            url.deleteLastPathComponent()
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `models/` in the repository.
    public static var models: URL { packageRoot.appendingPathComponent("models") }

    /// `../shared` beside the repository, when present (developers' machines and CI; not a plain fresh clone).
    public static var shared: URL? {
        let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// `../shared/<relative>`, or an XCTSkip naming what is missing.
    public static func requireShared(_ relative: String = "") throws -> URL {
        guard let shared else {
            throw XCTSkip("../shared is absent (a plain fresh clone): skipping tests that need \(relative.isEmpty ? "it" : relative)")
        }
        let url = relative.isEmpty ? shared : shared.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) is absent: skipping")
        }
        return url
    }
}
