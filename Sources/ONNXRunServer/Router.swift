// Routes Open Inference Protocol requests (health, metadata, infer, classify, metrics) to the served models.

import Dispatch
import Foundation
import ONNXRun
import ONNXRunVision

struct RouterRequest: Sendable {
    var method: String
    var uri: String
    /// Lower-cased names.
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
}

final class Router: Sendable {
    private let models: [String: ServedModel]
    private let metrics: ServerMetrics
    /// Tensors larger than this many elements are refused before anything is allocated.
    private let maxElements = 1 << 28

    init(models: [String: ServedModel], metrics: ServerMetrics) {
        self.models = models
        self.metrics = metrics
    }

    /// Answers `request`; `reply` is called once, possibly later and on another thread.
    func respond(to request: RouterRequest, reply: @escaping @Sendable (HTTPReply) -> Void) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        var parts = path.split(separator: "/").map(String.init)
        let get = request.method == "GET"
        if get && parts == ["v2", "health", "live"] { return reply(.json(["live": true])) }
        if get && parts == ["v2", "health", "ready"] { return reply(.json(["ready": true])) }
        if get && parts == ["v2"] {
            return reply(.json(["name": "onnxrun", "version": ServerVersion.current,
                                "extensions": ["binary_tensor_data", "classification"]]))
        }
        if get && parts == ["metrics"] {
            return reply(HTTPReply(status: 200, contentType: "text/plain; version=0.0.4",
                                   body: Array(metrics.render().utf8)))
        }
        guard parts.count >= 3, parts[0] == "v2", parts[1] == "models" else {
            return reply(.error(.notFound("no route for \(request.method) \(path)")))
        }
        let name = parts[2].removingPercentEncoding ?? parts[2]
        parts.removeFirst(3)
        // `/versions/{v}` may follow the name; every model has the one version "1".
        if parts.count >= 2, parts[0] == "versions" {
            guard parts[1] == "1" else {
                return reply(.error(.notFound("model '\(name)' has no version '\(parts[1])' (it has '1')")))
            }
            parts.removeFirst(2)
        }
        guard let model = models[name] else {
            return reply(.error(.notFound("no model named '\(name)'; this server has "
                + models.keys.sorted().map { "'\($0)'" }.joined(separator: ", "))))
        }
        switch (request.method, parts) {
        case ("GET", []): reply(.json(model.metadata))
        case ("GET", ["ready"]): reply(.json(["name": name, "ready": true]))
        case ("POST", ["infer"]): infer(request, model: model, reply: reply)
        case ("POST", ["classify"]): classify(request, model: model, reply: reply)
        default:
            reply(.error(.notFound("no route for \(request.method) \(path)")))
        }
    }

    private func infer(_ request: RouterRequest, model: ServedModel, reply: @escaping @Sendable (HTTPReply) -> Void) {
        let start = DispatchTime.now().uptimeNanoseconds
        let finish: @Sendable (HTTPReply) -> Void = { [metrics] response in
            metrics.recordRequest(model: model.name, endpoint: "infer", status: response.status,
                                  seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            reply(response)
        }
        let decoded: InferRequest
        do {
            var headerLength: Int?
            if let text = request.header("inference-header-content-length") {
                guard let value = Int(text) else {
                    throw ServerError.badRequest("Inference-Header-Content-Length '\(text)' is not a byte count")
                }
                headerLength = value
            }
            decoded = try InferRequestDecoder.decode(request.body, headerLength: headerLength,
                                                     expected: model.inputTypes, maxElements: maxElements)
        } catch let error as ServerError {
            return finish(.error(error))
        } catch {
            return finish(.error(.badRequest("\(error)")))
        }
        let outputNames = model.session.outputs.map(\.name)
        for requested in decoded.requestedOutputs where !outputNames.contains(requested.name) {
            return finish(.error(.badRequest("the model has no output '\(requested.name)'; its outputs are "
                + outputNames.map { "'\($0)'" }.joined(separator: ", "))))
        }
        model.infer(decoded.inputs) { result in
            switch result {
            case .success(let outputs):
                let selected: [(String, Bool)] = decoded.requestedOutputs.isEmpty
                    ? outputNames.map { ($0, decoded.binaryOutputsByDefault) } : decoded.requestedOutputs
                do {
                    let encoded = try InferResponseEncoder.encode(
                        modelName: model.name, id: decoded.id,
                        outputs: try selected.map { name, binary in
                            guard let tensor = outputs[name] else {
                                throw ServerError(status: 500, message: "output '\(name)' was not computed")
                            }
                            return (name, tensor, binary)
                        })
                    var response = HTTPReply(status: 200, body: encoded.body)
                    if let headerLength = encoded.headerLength {
                        response.contentType = "application/octet-stream"
                        response.headers = [("inference-header-content-length", String(headerLength))]
                    }
                    finish(response)
                } catch let error as ServerError {
                    finish(.error(error))
                } catch {
                    finish(.error(ServerError(status: 500, message: "\(error)")))
                }
            case .failure(let error as ONNXRunError) where error.kind == .invalidInput:
                finish(.error(.badRequest(error.description)))
            case .failure(let error as ServerError):
                finish(.error(error))
            case .failure(let error):
                finish(.error(ServerError(status: 500, message: "\(error)")))
            }
        }
    }
}

extension Router {
    /// A JPEG or PNG body -> the object `onnxrun MODEL IMAGE --json` prints for one image.
    private func classify(_ request: RouterRequest, model: ServedModel, reply: @escaping @Sendable (HTTPReply) -> Void) {
        let start = DispatchTime.now().uptimeNanoseconds
        var response: HTTPReply
        if let classifier = model.classifier {
            do {
                let classification = try classifier.classify(imageBytes: request.body, source: "request body")
                response = .json(FileClassification(path: "request body", result: .success(classification))
                    .jsonObject(probabilities: classifier.scoresAreProbabilities))
            } catch let error as ONNXRunError where error.kind == .image || error.kind == .invalidInput {
                response = .error(.badRequest(error.description))
            } catch {
                response = .error(ServerError(status: 500, message: "\(error)"))
            }
        } else {
            response = .error(.badRequest("model '\(model.name)' is not an image classifier (it needs one 4-D float "
                + "input); use /infer"))
        }
        metrics.recordRequest(model: model.name, endpoint: "classify", status: response.status,
                              seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        reply(response)
    }
}

enum ServerVersion {
    static let current = "0.2.0"
}
