// The command line itself: help for every subcommand, usage errors in ArgumentParser's form, the default command.

import Foundation
import ONNXRunTestSupport
import XCTest

final class CommandLineTests: XCTestCase {
    func testEverySubcommandHasHelp() throws {
        for arguments in [["--help"], ["classify", "--help"], ["inspect", "--help"], ["run", "--help"],
                          ["bench", "--help"], ["help", "bench"]] {
            let result = try CommandLineProcess.run(arguments)
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.standardError)")
            XCTAssertTrue(result.standardOutput.hasPrefix("OVERVIEW: "), "\(arguments): \(result.standardOutput)")
            XCTAssertTrue(result.standardOutput.contains("USAGE: "), "\(arguments)")
        }
    }

    func testUsageErrorsExitWithArgumentParsersStatus() throws {
        for arguments in [["bench"], ["bench", "model.onnx", "--runs", "0"], ["bench", "model.onnx", "--dim", "h"],
                          ["bench", "model.onnx", "--shape", "x=1,a"],
                          ["inspect", "--json", "--dot", "model.onnx"], ["model.onnx"],
                          ["model.onnx", "image.png", "--mean", "0.5,x,0.5", "--std", "0.2"]] {
            let result = try CommandLineProcess.run(arguments)
            XCTAssertFalse(result.crashed)
            // EX_USAGE, with the message and the usage on stderr.
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.standardError)")
            XCTAssertTrue(result.standardError.hasPrefix("Error: "), "\(arguments): \(result.standardError)")
        }
    }

    /// `onnxrun MODEL IMAGE` is `onnxrun classify MODEL IMAGE`.
    func testClassifyIsTheDefaultCommand() throws {
        let model = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
        let image = TestPaths.models.appendingPathComponent("images/coffee.png").path
        let implicit = try CommandLineProcess.run([model, image, "--json", "-k", "2"])
        let explicit = try CommandLineProcess.run(["classify", model, image, "--json", "-k", "2"])
        XCTAssertEqual(implicit.status, 0, implicit.standardError)
        XCTAssertEqual(explicit.status, 0, explicit.standardError)
        let implicitTop = try XCTUnwrap((try CommandLineProcess.json(implicit) as? [[String: Any]])?.first?["top"]
                                            as? [[String: Any]])
        let explicitTop = try XCTUnwrap((try CommandLineProcess.json(explicit) as? [[String: Any]])?.first?["top"]
                                            as? [[String: Any]])
        XCTAssertEqual(implicitTop.compactMap { $0["index"] as? Int }, explicitTop.compactMap { $0["index"] as? Int })
        XCTAssertEqual(implicitTop.count, 2)
    }
}
