// Prometheus metrics of the server (`GET /metrics`, text exposition format 0.0.4), names prefixed `onnxrun_`.

import Foundation

final class ServerMetrics: @unchecked Sendable {
    private struct Histogram {
        var buckets: [Int]
        var count = 0
        var sum = 0.0

        init(bounds: Int) { buckets = Array(repeating: 0, count: bounds) }

        mutating func record(_ value: Double, bounds: [Double]) {
            for (index, bound) in bounds.enumerated() where value <= bound { buckets[index] += 1 }
            count += 1
            sum += value
        }
    }

    private static let latencyBounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private static let batchBounds: [Double] = [1, 2, 4, 8, 16, 32, 64]

    private let lock = NSLock()
    /// (model, endpoint, HTTP status) -> requests.
    private var requests: [String: [String: [Int: Int]]] = [:]
    private var latency: [String: Histogram] = [:]
    private var batchSizes: [String: Histogram] = [:]
    private var inferenceSeconds: [String: Histogram] = [:]

    func recordRequest(model: String, endpoint: String, status: Int, seconds: Double) {
        lock.withLock {
            requests[model, default: [:]][endpoint, default: [:]][status, default: 0] += 1
            latency[model, default: Histogram(bounds: Self.latencyBounds.count)]
                .record(seconds, bounds: Self.latencyBounds)
        }
    }

    func recordBatch(model: String, size: Int, seconds: Double) {
        lock.withLock {
            batchSizes[model, default: Histogram(bounds: Self.batchBounds.count)]
                .record(Double(size), bounds: Self.batchBounds)
            inferenceSeconds[model, default: Histogram(bounds: Self.latencyBounds.count)]
                .record(seconds, bounds: Self.latencyBounds)
        }
    }

    /// The exposition text.
    func render() -> String {
        lock.withLock {
            var lines: [String] = []
            lines.append("# HELP onnxrun_requests_total Requests answered, by model, endpoint and HTTP status.")
            lines.append("# TYPE onnxrun_requests_total counter")
            for (model, endpoints) in requests.sorted(by: { $0.key < $1.key }) {
                for (endpoint, statuses) in endpoints.sorted(by: { $0.key < $1.key }) {
                    for (status, count) in statuses.sorted(by: { $0.key < $1.key }) {
                        lines.append("onnxrun_requests_total{model=\"\(escape(model))\",endpoint=\"\(endpoint)\",status=\"\(status)\"} \(count)")
                    }
                }
            }
            lines.append("# HELP onnxrun_request_errors_total Requests answered with a 4xx or 5xx status, by model.")
            lines.append("# TYPE onnxrun_request_errors_total counter")
            for (model, endpoints) in requests.sorted(by: { $0.key < $1.key }) {
                let errors = endpoints.values.flatMap { $0 }.filter { $0.key >= 400 }.reduce(0) { $0 + $1.value }
                lines.append("onnxrun_request_errors_total{model=\"\(escape(model))\"} \(errors)")
            }
            appendHistograms(&lines, name: "onnxrun_request_duration_seconds", help: "Request latency, by model.",
                             histograms: latency, bounds: Self.latencyBounds)
            appendHistograms(&lines, name: "onnxrun_inference_duration_seconds", help: "Time of one model run (one batch).",
                             histograms: inferenceSeconds, bounds: Self.latencyBounds)
            appendHistograms(&lines, name: "onnxrun_batch_size", help: "Rows per model run (dynamic batching).",
                             histograms: batchSizes, bounds: Self.batchBounds)
            return lines.joined(separator: "\n") + "\n"
        }
    }

    private func appendHistograms(_ lines: inout [String], name: String, help: String, histograms: [String: Histogram],
                                  bounds: [Double]) {
        lines.append("# HELP \(name) \(help)")
        lines.append("# TYPE \(name) histogram")
        for (model, histogram) in histograms.sorted(by: { $0.key < $1.key }) {
            let label = "model=\"\(escape(model))\""
            for (index, bound) in bounds.enumerated() {
                lines.append("\(name)_bucket{\(label),le=\"\(format(bound))\"} \(histogram.buckets[index])")
            }
            lines.append("\(name)_bucket{\(label),le=\"+Inf\"} \(histogram.count)")
            lines.append("\(name)_sum{\(label)} \(histogram.sum)")
            lines.append("\(name)_count{\(label)} \(histogram.count)")
        }
    }

    private func format(_ bound: Double) -> String {
        bound == bound.rounded() ? String(Int(bound)) : String(bound)
    }

    private func escape(_ label: String) -> String {
        label.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
