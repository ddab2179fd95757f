// Runs a program as a child process and collects its exit status, stdout and stderr (for the CLI and C API tests).

import Foundation

public struct CommandResult {
    public var status: Int32
    /// Killed by a signal (a crash) rather than exiting.
    public var crashed: Bool
    public var standardOutput: String
    public var standardError: String

    /// stderr lines, without empty ones.
    public var errorLines: [String] { standardError.split(separator: "\n").map(String.init) }
}

public enum ChildProcess {
    /// A product (`onnxrun`, `libonnxrun-c.so`) built beside the test bundle (`.build/<triple>/debug/`), found
    /// from the test process's path.
    public static func builtProduct(named name: String) -> URL? {
        var candidates: [URL] = []
        if let path = CommandLine.arguments.first {
            candidates.append(URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(name))
        }
        candidates.append(Bundle.main.bundleURL.appendingPathComponent(name))
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name))
        candidates.append(TestPaths.packageRoot.appendingPathComponent(".build/debug/\(name)"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// Runs `executable arguments...` (with `environment`, else the test's own); output goes through temporary
    /// files so large outputs cannot dead-lock a pipe.
    public static func run(_ executable: URL, _ arguments: [String],
                           environment: [String: String]? = nil) throws -> CommandResult {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("onnxrun-process-\(UUID().uuidString)")
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
        if let environment { process.environment = environment }
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
}
