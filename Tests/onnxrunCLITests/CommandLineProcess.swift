// Runs the built `onnxrun` executable as a child process (ChildProcess) and checks how it failed.

import Foundation
import ONNXRunTestSupport
import XCTest

enum CommandLineProcess {
    /// The `onnxrun` built beside the test bundle (`.build/<triple>/debug/`), found from the test process's path.
    static let executable = ChildProcess.builtProduct(named: "onnxrun")

    /// Runs `onnxrun arguments...`; output goes through temporary files so large outputs cannot dead-lock a pipe.
    static func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        guard let executable else {
            XCTFail("the onnxrun executable was not found beside the test bundle", file: file, line: line)
            throw XCTSkip("no onnxrun executable")
        }
        return try ChildProcess.run(executable, arguments)
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
