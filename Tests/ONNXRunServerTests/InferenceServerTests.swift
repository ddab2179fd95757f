// The server on a loopback ephemeral port, driven over HTTP: metadata, infer (JSON and binary) against onnxruntime
// references, concurrency with and without dynamic batching, malformed requests, metrics, shutdown.
// Traffic goes only to 127.0.0.1; every loop is bounded.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import ONNXRunServer

final class InferenceServerTests: XCTestCase {
    private var modelPath: String { TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path }

    private func dataSet(_ index: Int) throws -> (input: Tensor, output: Tensor) {
        let folder = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/test_data_set_\(index)")
        return (try ModelLoader.loadTensor(contentsOf: folder.appendingPathComponent("input_0.pb").path).tensor,
                try ModelLoader.loadTensor(contentsOf: folder.appendingPathComponent("output_0.pb").path).tensor)
    }

    private func startServer(maxBatch: Int = 1, batchWindowMilliseconds: Double = 5,
                             maxBodyBytes: Int = 8 << 20) async throws -> InferenceServer {
        try await InferenceServer.start(ServerConfiguration(
            host: "127.0.0.1", port: 0, models: [("mobilenet", modelPath)], threadCount: 2, maxBatch: maxBatch,
            batchWindowMilliseconds: batchWindowMilliseconds, maxBodyBytes: maxBodyBytes))
    }

    // MARK: HTTP

    private struct Response: @unchecked Sendable {
        var status: Int
        var body: Data
        var headers: [String: String]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    private static func send(_ server: InferenceServer, _ method: String, _ path: String, body: Data? = nil,
                      headers: [String: String] = [:]) async throws -> Response {
        var request = URLRequest(url: URL(string: server.url + path)!)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 60
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { return continuation.resume(throwing: error) }
                let http = response as? HTTPURLResponse
                var headers: [String: String] = [:]
                for (name, value) in http?.allHeaderFields ?? [:] {
                    headers[String(describing: name).lowercased()] = String(describing: value)
                }
                continuation.resume(returning: Response(status: http?.statusCode ?? 0, body: data ?? Data(),
                                                        headers: headers))
            }.resume()
        }
    }

    private func jsonBody(_ object: Any) throws -> Data { try JSONSerialization.data(withJSONObject: object) }

    private func jsonInfer(_ input: Tensor, name: String = "input") -> [String: Any] {
        ["inputs": [["name": name, "shape": input.shape, "datatype": "FP32", "data": input.floats.map(Double.init)]]]
    }

    private func outputFloats(_ response: Response) throws -> (shape: [Int], values: [Float]) {
        let outputs = try XCTUnwrap(response.json["outputs"] as? [[String: Any]], "\(String(decoding: response.body, as: UTF8.self))")
        let first = try XCTUnwrap(outputs.first)
        let shape = try XCTUnwrap(first["shape"] as? [Int])
        let data = try XCTUnwrap(first["data"] as? [NSNumber])
        return (shape, data.map(\.floatValue))
    }

    private func assertClose(_ actual: [Float], _ expected: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.elementCount, file: file, line: line)
        let difference = zip(actual, expected.floats).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(difference, 1e-4, file: file, line: line)
    }

    private var inputName: String { "input" }

    // MARK: Tests

    func testHealthAndMetadata() async throws {
        let server = try await startServer()
        defer { Task { await server.shutdown() } }
        let response1 = try await Self.send(server, "GET", "/v2/health/live")
        XCTAssertEqual(response1.json["live"] as? Bool, true)
        let response2 = try await Self.send(server, "GET", "/v2/health/ready")
        XCTAssertEqual(response2.json["ready"] as? Bool, true)
        let metadata = try await Self.send(server, "GET", "/v2").json
        XCTAssertEqual(metadata["name"] as? String, "onnxrun")
        XCTAssertEqual(metadata["extensions"] as? [String], ["binary_tensor_data", "classification"])
        for path in ["/v2/models/mobilenet", "/v2/models/mobilenet/versions/1"] {
            let model = try await Self.send(server, "GET", path)
            XCTAssertEqual(model.status, 200)
            XCTAssertEqual(model.json["name"] as? String, "mobilenet")
            let inputs = try XCTUnwrap(model.json["inputs"] as? [[String: Any]])
            XCTAssertEqual(inputs.first?["datatype"] as? String, "FP32")
            XCTAssertEqual(inputs.first?["shape"] as? [Int], [-1, 3, 96, 96])
        }
        let response3 = try await Self.send(server, "GET", "/v2/models/mobilenet/ready")
        XCTAssertEqual(response3.json["ready"] as? Bool, true)
        let response4 = try await Self.send(server, "GET", "/v2/models/mobilenet/versions/1/ready")
        XCTAssertEqual(response4.status, 200)
    }

    func testInferWithJSONAndBinaryData() async throws {
        let server = try await startServer()
        defer { Task { await server.shutdown() } }
        for index in [0, 1] {
            let (input, expected) = try dataSet(index)
            let response = try await Self.send(server, "POST", "/v2/models/mobilenet/infer", body: try jsonBody(jsonInfer(input)))
            XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
            let (shape, values) = try outputFloats(response)
            XCTAssertEqual(shape, expected.shape)
            assertClose(values, expected)
        }
        // Binary request and binary response, as the KServe and Triton clients send them.
        let (input, expected) = try dataSet(1)
        let header = try jsonBody([
            "inputs": [["name": inputName, "shape": input.shape, "datatype": "FP32",
                        "parameters": ["binary_data_size": input.byteCount]]],
            "outputs": [["name": "logits", "parameters": ["binary_data": true]]],
        ])
        var body = header
        input.withUnsafeBytes { body.append(contentsOf: $0) }
        let response = try await Self.send(server, "POST", "/v2/models/mobilenet/infer", body: body,
                                      headers: ["Inference-Header-Content-Length": String(header.count),
                                                "Content-Type": "application/octet-stream"])
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        let jsonLength = try XCTUnwrap(response.headers["inference-header-content-length"].flatMap { Int($0) })
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: response.body.prefix(jsonLength)) as? [String: Any])
        let output = try XCTUnwrap((json["outputs"] as? [[String: Any]])?.first)
        XCTAssertEqual(output["shape"] as? [Int], expected.shape)
        let binary = Array(response.body.dropFirst(jsonLength))
        XCTAssertEqual(binary.count, expected.byteCount)
        let values = binary.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        assertClose(values, expected)
    }

    /// 64 concurrent requests, each with its own input, each get their own answer — without and with batching.
    func testConcurrentRequestsGetTheirOwnAnswers() async throws {
        let reference = try InferenceSession(contentsOf: modelPath, options: SessionOptions(threadCount: 1))
        let inputs = try (0..<64).map { index -> Tensor in
            var state = UInt64(index + 1) &* 0x9E3779B97F4A7C15
            return try Tensor(shape: [1, 3, 96, 96], floats: (0..<(3 * 96 * 96)).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(state >> 40) / Float(1 << 24) * 2 - 1
            })
        }
        let expected = try inputs.map { try XCTUnwrap(reference.run([inputName: $0])["logits"]) }
        for maxBatch in [1, 8] {
            // A window long enough that batches form on a loaded machine too (a debug build decodes each 110 KB
            // JSON body in milliseconds; with a 5 ms window the 64 requests could arrive one window apart).
            let server = try await startServer(maxBatch: maxBatch, batchWindowMilliseconds: maxBatch > 1 ? 200 : 5)
            let bodies = try inputs.map { try jsonBody(jsonInfer($0)) }
            let responses = try await withThrowingTaskGroup(of: (Int, Response).self) { group in
                for index in 0..<64 {
                    group.addTask { (index, try await Self.send(server, "POST", "/v2/models/mobilenet/infer", body: bodies[index])) }
                }
                var all: [Int: Response] = [:]
                for try await (index, response) in group { all[index] = response }
                return all
            }
            for index in 0..<64 {
                let response = try XCTUnwrap(responses[index])
                XCTAssertEqual(response.status, 200)
                assertClose(try outputFloats(response).values, expected[index])
            }
            let metrics = String(decoding: try await Self.send(server, "GET", "/metrics").body, as: UTF8.self)
            XCTAssertTrue(metrics.contains("onnxrun_requests_total{model=\"mobilenet\",endpoint=\"infer\",status=\"200\"} 64"),
                          metrics)
            XCTAssertTrue(metrics.contains("onnxrun_batch_size_count{model=\"mobilenet\"}"))
            if maxBatch > 1 {
                // Batches formed: fewer model runs than requests.
                let runs = metrics.split(separator: "\n").first { $0.hasPrefix("onnxrun_batch_size_count") }
                    .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 64
                XCTAssertLessThan(runs, 64, metrics)
            }
            await server.shutdown()
        }
    }

    func testMalformedRequestsGetClientErrorsAndTheServerStaysReady() async throws {
        let server = try await startServer(maxBodyBytes: 1 << 20)
        defer { Task { await server.shutdown() } }
        let (input, _) = try dataSet(0)
        let infer = "/v2/models/mobilenet/infer"
        let good = jsonInfer(input)
        func with(_ change: (inout [String: Any]) -> Void) -> [String: Any] {
            var tensor = (good["inputs"] as! [[String: Any]])[0]
            change(&tensor)
            return ["inputs": [tensor]]
        }
        let header = try jsonBody(["inputs": [["name": inputName, "shape": input.shape, "datatype": "FP32",
                                               "parameters": ["binary_data_size": input.byteCount]]]])
        let cases: [(String, String, Data, [String: String], Int)] = [
            ("bad JSON", infer, Data("{\"inputs\": [".utf8), [:], 400),
            ("not an object", infer, Data("[1, 2]".utf8), [:], 400),
            ("no inputs", infer, try jsonBody(["inputs": []]), [:], 400),
            ("data/shape mismatch", infer, try jsonBody(with { $0["shape"] = [1, 3, 96, 95] }), [:], 400),
            ("wrong datatype", infer, try jsonBody(with { $0["datatype"] = "INT64" }), [:], 400),
            ("unknown input", infer, try jsonBody(with { $0["name"] = "pixels" }), [:], 400),
            ("negative shape", infer, try jsonBody(with { $0["shape"] = [-1, 3, 96, 96] }), [:], 400),
            ("huge shape", infer, try jsonBody(with { $0["shape"] = [1 << 20, 1 << 20, 3] }), [:], 413),
            ("non-numeric data", infer, try jsonBody(with { $0["data"] = ["a"] }), [:], 400),
            ("wrong image size", infer, try jsonBody(["inputs": [["name": inputName, "shape": [1, 3, 2, 2],
                                                                 "datatype": "FP32", "data": Array(repeating: 0, count: 12)]]]),
             [:], 400),
            ("unknown output", infer, try jsonBody(good.merging(["outputs": [["name": "probabilities"]]]) { $1 }), [:], 400),
            ("unknown model", "/v2/models/resnet/infer", try jsonBody(good), [:], 404),
            ("unknown version", "/v2/models/mobilenet/versions/7/infer", try jsonBody(good), [:], 404),
            ("unknown route", "/v1/models/mobilenet:predict", try jsonBody(good), [:], 404),
            ("lying binary header", infer, header, ["Inference-Header-Content-Length": String(header.count)], 400),
            ("header length past the body", infer, header, ["Inference-Header-Content-Length": "999999"], 400),
            ("header length not a number", infer, header, ["Inference-Header-Content-Length": "ten"], 400),
            ("body over the limit", infer, Data(count: 2 << 20), [:], 413),
        ]
        for (name, path, body, headers, status) in cases {
            let response = try await Self.send(server, "POST", path, body: body, headers: headers)
            XCTAssertEqual(response.status, status, "\(name): \(String(decoding: response.body, as: UTF8.self))")
            XCTAssertNotNil(response.json["error"] as? String, name)
            let response5 = try await Self.send(server, "GET", "/v2/health/ready")
            XCTAssertEqual(response5.status, 200, "ready after \(name)")
        }
        let metrics = String(decoding: try await Self.send(server, "GET", "/metrics").body, as: UTF8.self)
        XCTAssertTrue(metrics.contains("onnxrun_request_errors_total{model=\"mobilenet\"}"), metrics)
        // Still answers correctly.
        let (good0, expected) = try dataSet(0)
        assertClose(try outputFloats(try await Self.send(server, "POST", infer, body: try jsonBody(jsonInfer(good0)))).values,
                    expected)
    }

    func testShutdownAnswersRequestsInFlight() async throws {
        let server = try await startServer()
        // A batch of 8 keeps the model busy well past the moment shutdown starts.
        let (one, _) = try dataSet(0)
        let input = try Tensor(shape: [8, 3, 96, 96], floats: Array((0..<8).map { _ in one.floats }.joined()))
        let expected = try XCTUnwrap(try InferenceSession(contentsOf: modelPath).run([inputName: input])["logits"])
        let body = try jsonBody(jsonInfer(input))
        async let inFlight = Self.send(server, "POST", "/v2/models/mobilenet/infer", body: body)
        try await Task.sleep(nanoseconds: 300_000_000)
        await server.shutdown()
        let response = try await inFlight
        XCTAssertEqual(response.status, 200)
        assertClose(try outputFloats(response).values, expected)
        do {
            _ = try await Self.send(server, "GET", "/v2/health/live")
            XCTFail("the server still answers after shutdown")
        } catch {}
    }

    /// Photos posted to /classify get the reference top-5 of the pretrained EfficientNet-Lite0 (the CLI's answer).
    func testClassifyPhotos() async throws {
        let server = try await InferenceServer.start(ServerConfiguration(
            host: "127.0.0.1", port: 0,
            models: [("efficientnet", TestPaths.models.appendingPathComponent("efficientnet-lite0/model.onnx").path),
                     ("mobilenet", modelPath)], threadCount: 2))
        defer { Task { await server.shutdown() } }
        let expectedFile = TestPaths.models.appendingPathComponent("images/expected-top5.json")
        let expected = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(contentsOf: expectedFile)) as? [String: Any])?["photos"]
                as? [String: [[Any]]])
        for photo in ["chelsea", "coffee"] {
            let image = try Data(contentsOf: TestPaths.models.appendingPathComponent("images/\(photo).png"))
            let response = try await Self.send(server, "POST", "/v2/models/efficientnet/classify", body: image)
            XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
            let top = try XCTUnwrap(response.json["top"] as? [[String: Any]])
            XCTAssertEqual(top.map { $0["index"] as? Int }, try XCTUnwrap(expected[photo]).map { $0[0] as? Int }, photo)
            let probability = try XCTUnwrap(top.first?["probability"] as? Double)
            XCTAssertEqual(probability, try XCTUnwrap(expected[photo]?.first?[2] as? Double), accuracy: 1e-4)
            XCTAssertNotNil((response.json["timings"] as? [String: Any])?["inference_ms"])
        }
        let garbage = try await Self.send(server, "POST", "/v2/models/efficientnet/classify", body: Data("not an image".utf8))
        XCTAssertEqual(garbage.status, 400)
        XCTAssertNotNil(garbage.json["error"])
        let ready = try await Self.send(server, "GET", "/v2/health/ready")
        XCTAssertEqual(ready.status, 200)
    }

    func testModelNames() {
        XCTAssertEqual(ServerConfiguration.modelName(forPath: "/models/resnet/model.onnx"), "resnet")
        XCTAssertEqual(ServerConfiguration.modelName(forPath: "/models/mobilenet_v2.onnx"), "mobilenet_v2")
        XCTAssertEqual(ServerConfiguration.modelName(forPath: "model.onnx"), "model")
    }
}
