// `onnxrun serve` as a process: prints its URL when ready, answers, and exits 0 on SIGTERM with the request in
// flight answered. Loopback only; bounded waits.

import Foundation
import ONNXRunTestSupport
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

final class ServeCommandTests: XCTestCase {
    private func get(_ url: String) -> Int? {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var status: Int?
        URLSession.shared.dataTask(with: URL(string: url)!) { _, response, _ in
            status = (response as? HTTPURLResponse)?.statusCode
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 30)
        return status
    }

    func testServesAndExitsCleanlyOnSIGTERM() throws {
        let executable = try XCTUnwrap(ChildProcess.builtProduct(named: "onnxrun"), "the onnxrun executable is not built")
        let model = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", model, "--port", "0", "--threads", "1"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // The ready line: "onnxrun serving mobilenetv2-0.35-96 at http://127.0.0.1:PORT".
        var line = Data()
        let deadline = Date().addingTimeInterval(120)
        while !line.contains(UInt8(ascii: "\n")) && Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("onnxrun serving mobilenetv2-0.35-96 at http://127.0.0.1:"), text)
        let url = try XCTUnwrap(text.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        XCTAssertEqual(get(url + "/v2/health/live"), 200)
        XCTAssertEqual(get(url + "/v2/models/mobilenetv2-0.35-96/ready"), 200)

        let started = Date()
        kill(process.processIdentifier, SIGTERM)
        while process.isRunning && Date().timeIntervalSince(started) < 15 { usleep(20_000) }
        XCTAssertFalse(process.isRunning, "still running 15 s after SIGTERM")
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
    }
}
