// Runs the built `onnxrun` executable as a child process and collects its exit status, stdout and stderr.

import Foundation
import ONNXRunTestSupport
import XCTest

struct CommandResult {
    var status: Int32
    /// Killed by a signal (a crash) rather than exiting.
    var crashed: Bool
    var standardOutput: String
    var standardError: String

    /// stderr lines, without empty ones.
    var errorLines: [String] { standardError.split(separator: "\n").map(String.init) }
}

enum CommandLineProcess {
    /// The `onnxrun` built beside the test bundle (`.build/<triple>/debug/`), found from the test process's path.
    static let executable: URL? = {
        var candidates: [URL] = []
        if let path = CommandLine.arguments.first {
            candidates.append(URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("onnxrun"))
        }
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("onnxrun"))
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("onnxrun"))
        candidates.append(TestPaths.packageRoot.appendingPathComponent(".build/debug/onnxrun"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs `onnxrun arguments...`; output goes through temporary files so large outputs cannot dead-lock a pipe.
    static func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        guard let executable else {
            XCTFail("the onnxrun executable was not found beside the test bundle", file: file, line: line)
            throw XCTSkip("no onnxrun executable")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("onnxrun-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outputURL = directory.appendingPathComponent("stdout")
        let errorURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let outputHandle = try FileHandle(forWritingTo: outputURL)
        let errorHandle = try FileHandle(forWritingTo: errorURL)

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = outputHandle
        process.standardError = errorHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try outputHandle.close()
        try errorHandle.close()
        return CommandResult(
            status: process.terminationStatus,
            crashed: process.terminationReason == .uncaughtSignal,
            standardOutput: String(decoding: try Data(contentsOf: outputURL), as: UTF8.self),
            standardError: String(decoding: try Data(contentsOf: errorURL), as: UTF8.self))
    }

    /// Parses stdout as JSON.
    static func json(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
        } catch {
            XCTFail("stdout is not JSON: \(result.standardOutput.prefix(500))", file: file, line: line)
            throw error
        }
    }
}

/// Asserts the process failed cleanly: status 1, one `onnxrun: error:` line on stderr, no crash.
func assertCleanFailure(_ result: CommandResult, mentioning words: [String] = [], file: StaticString = #filePath,
                        line: UInt = #line) {
    XCTAssertFalse(result.crashed, "crashed: \(result.standardError)", file: file, line: line)
    XCTAssertEqual(result.status, 1, "stderr: \(result.standardError)", file: file, line: line)
    XCTAssertEqual(result.errorLines.count, 1, "stderr: \(result.standardError)", file: file, line: line)
    XCTAssertTrue(result.standardError.hasPrefix("onnxrun: error: "), result.standardError, file: file, line: line)
    for word in words {
        XCTAssertTrue(result.standardError.contains(word), "'\(word)' not in: \(result.standardError)",
                      file: file, line: line)
    }
}
