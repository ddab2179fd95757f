// One model behind the server: its session, metadata, and the queue (with dynamic batching) its runs go through.

import Dispatch
import Foundation
import ONNXRun
import ONNXRunVision

/// How the server runs one model.
struct ModelServingOptions: Sendable {
    var threadCount: Int?
    var precision: Precision = .fp32
    /// Largest batch dynamic batching forms (1: no batching).
    var maxBatch: Int = 1
    /// How long the first request of a batch waits for others.
    var batchWindowSeconds: Double = 0.002
}

final class ServedModel: @unchecked Sendable {
    let name: String
    let path: String
    let session: InferenceSession
    /// Each input's element type, for request validation.
    let inputTypes: [String: ElementType]
    let metrics: ServerMetrics
    /// For `/classify`: the model's preprocessing recipe (from its metadata), softmax and labels; nil when the
    /// model is no image classifier.
    let classifier: ImageClassifier?
    private let batcher: DynamicBatcher

    init(name: String, path: String, options: ModelServingOptions, metrics: ServerMetrics) throws {
        self.name = name
        self.path = path
        self.metrics = metrics
        session = try InferenceSession(contentsOf: path, options: SessionOptions(threadCount: options.threadCount,
                                                                                precision: options.precision))
        var types: [String: ElementType] = [:]
        for input in session.inputs {
            types[input.name] = input.type?.elementType ?? .float
        }
        inputTypes = types
        classifier = try? ImageClassifier(session: session)
        let batchable = options.maxBatch > 1 && ServedModel.hasSharedBatchDimension(session)
        batcher = DynamicBatcher(name: name, session: session, maxBatch: batchable ? options.maxBatch : 1,
                                 window: options.batchWindowSeconds, metrics: metrics)
    }

    /// Batching is safe when every input and output has the same symbolic first dimension: rows then map to callers.
    private static func hasSharedBatchDimension(_ session: InferenceSession) -> Bool {
        let firsts = (session.inputs + session.outputs).map { value -> String? in
            guard case .symbolic(let name)? = value.type?.shape?.first else { return nil }
            return name
        }
        guard let first = firsts.first ?? nil else { return false }
        return firsts.allSatisfy { $0 == first }
    }

    /// The model metadata response.
    var metadata: [String: Any] {
        func describe(_ values: [ValueInfo]) -> [[String: Any]] {
            values.map { value in
                [
                    "name": value.name,
                    "datatype": value.type.flatMap { ProtocolDatatype.name(of: $0.elementType) } ?? "BYTES",
                    "shape": value.type?.shape?.map { $0.value ?? -1 } ?? [-1],
                ]
            }
        }
        return ["name": name, "versions": ["1"], "platform": "onnxrun", "inputs": describe(session.inputs),
                "outputs": describe(session.outputs)]
    }

    /// Runs `feeds` (alone or batched with concurrent requests) and calls `completion` off the event loop.
    func infer(_ feeds: [String: Tensor], completion: @escaping @Sendable (Result<[String: Tensor], Error>) -> Void) {
        batcher.submit(feeds, completion: completion)
    }
}

/// Runs a model's requests one batch at a time on its own queue. With `maxBatch` > 1, requests that arrive while a
/// batch runs, or within `window` of the first, are concatenated along the batch axis, run once, and each caller
/// gets exactly its own rows back.
final class DynamicBatcher: @unchecked Sendable {
    private struct Pending {
        var feeds: [String: Tensor]
        var rows: Int
        var completion: @Sendable (Result<[String: Tensor], Error>) -> Void
    }

    private let name: String
    private let session: InferenceSession
    private let maxBatch: Int
    private let window: Double
    private let metrics: ServerMetrics
    private let queue: DispatchQueue
    private let lock = NSLock()
    private var pending: [Pending] = []
    private var drainScheduled = false

    init(name: String, session: InferenceSession, maxBatch: Int, window: Double, metrics: ServerMetrics) {
        self.name = name
        self.session = session
        self.maxBatch = max(1, maxBatch)
        self.window = window
        self.metrics = metrics
        queue = DispatchQueue(label: "onnxrun.model.\(name)")
    }

    func submit(_ feeds: [String: Tensor], completion: @escaping @Sendable (Result<[String: Tensor], Error>) -> Void) {
        let rows = feeds.values.first?.shape.first ?? 1
        guard maxBatch > 1, rows < maxBatch else {
            queue.async { [self] in run([Pending(feeds: feeds, rows: rows, completion: completion)]) }
            return
        }
        lock.lock()
        pending.append(Pending(feeds: feeds, rows: rows, completion: completion))
        let shouldSchedule = !drainScheduled
        drainScheduled = true
        let full = pending.reduce(0) { $0 + $1.rows } >= maxBatch
        lock.unlock()
        if shouldSchedule {
            if full {
                queue.async { [self] in drain() }
            } else {
                queue.asyncAfter(deadline: .now() + window) { [self] in drain() }
            }
        }
    }

    /// Takes up to `maxBatch` rows of waiting requests and runs them; repeats while requests remain.
    private func drain() {
        while true {
            lock.lock()
            var batch: [Pending] = []
            var rows = 0
            while let next = pending.first, batch.isEmpty || rows + next.rows <= maxBatch {
                batch.append(pending.removeFirst())
                rows += next.rows
            }
            if batch.isEmpty { drainScheduled = false }
            lock.unlock()
            if batch.isEmpty { return }
            run(batch)
        }
    }

    private func run(_ batch: [Pending]) {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            metrics.recordBatch(model: name, size: batch.reduce(0) { $0 + $1.rows },
                                seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        if batch.count == 1 {
            batch[0].completion(Result { try session.run(batch[0].feeds) })
            return
        }
        do {
            var feeds: [String: Tensor] = [:]
            for name in batch[0].feeds.keys {
                feeds[name] = try concatenateRows(batch.map { $0.feeds[name] })
            }
            let outputs = try session.run(feeds)
            var offset = 0
            for request in batch {
                var own: [String: Tensor] = [:]
                for (name, tensor) in outputs {
                    own[name] = try sliceRows(tensor, offset..<offset + request.rows)
                }
                offset += request.rows
                request.completion(.success(own))
            }
        } catch {
            // A batch fails as a whole only through one request's bad input: run each alone for its own answer.
            for request in batch {
                request.completion(Result { try session.run(request.feeds) })
            }
        }
    }

    private func concatenateRows(_ tensors: [Tensor?]) throws -> Tensor {
        let parts = tensors.compactMap { $0 }
        guard parts.count == tensors.count, let first = parts.first,
              parts.allSatisfy({ $0.elementType == first.elementType && Array($0.shape.dropFirst()) == Array(first.shape.dropFirst()) })
        else { throw ServerError.badRequest("batched requests disagree on input shapes") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parts.reduce(0) { $0 + $1.byteCount })
        for part in parts { part.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        let rows = parts.reduce(0) { $0 + ($1.shape.first ?? 1) }
        return try bytes.withUnsafeBytes {
            try Tensor(elementType: first.elementType, shape: [rows] + first.shape.dropFirst(), copying: $0)
        }
    }

    private func sliceRows(_ tensor: Tensor, _ rows: Range<Int>) throws -> Tensor {
        guard let total = tensor.shape.first, total > 0, rows.upperBound <= total else {
            throw ServerError(status: 500, message: "output \(tensor) does not have the batch's rows")
        }
        let rowBytes = tensor.byteCount / total
        return try tensor.withUnsafeBytes { raw in
            try Tensor(elementType: tensor.elementType, shape: [rows.count] + tensor.shape.dropFirst(),
                       copying: UnsafeRawBufferPointer(rebasing: raw[rows.lowerBound * rowBytes..<rows.upperBound * rowBytes]))
        }
    }
}
