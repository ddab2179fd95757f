// `onnxrun bench`: load time, first-run time, latency statistics and throughput on seeded random inputs, and a profile.

import ArgumentParser
import Foundation
import ONNXRun

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark a model on seeded random inputs: load, first run, median/p90/min latency, throughput.",
        discussion: """
            Inputs come from --input files (.npy or .pb, like `run`), else are seeded random: float inputs \
            uniform in [-1, 1), others zero, shaped by --shape NAME=d0,d1,... or the declared shape, where a \
            symbolic or unknown first (batch) dimension takes --batch and other symbolic dimensions take \
            --dim NAME=SIZE. --profile times every executed step (fused steps name their nodes) over the measured \
            runs.
            """
    )

    @Argument(help: "The .onnx model file.")
    var model: String

    @Option(help: ArgumentHelp("Threads for the kernels (default: all cores).", valueName: "N"))
    var threads: Int?

    @Option(help: ArgumentHelp("Untimed runs after the first one.", valueName: "W"))
    var warmup = 3

    @Option(help: ArgumentHelp("Timed runs.", valueName: "R"))
    var runs = 20

    @Option(help: ArgumentHelp("The size of a symbolic batch dimension.", valueName: "B"))
    var batch = 1

    @Option(name: .customLong("dim"), help: ArgumentHelp("The size of a named symbolic dimension; repeatable.",
                                                          valueName: "NAME=SIZE"))
    var dimensions: [String] = []

    @Option(name: .customLong("shape"), help: ArgumentHelp("The whole shape of a random input; repeatable.",
                                                            valueName: "NAME=d0,d1,..."))
    var shapes: [String] = []

    @Option(name: [.short, .long], help: ArgumentHelp("An input tensor (.npy or .pb) instead of a random one; "
                                                          + "repeat for each input.", valueName: "[NAME=]FILE"))
    var input: [String] = []

    @Option(help: ArgumentHelp("Seed of the random inputs.", valueName: "SEED"))
    var seed: UInt64 = 42

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Per-step time table (aggregated over the timed runs, slowest first) with share and GFLOP/s.")
    var profile = false

    @Option(help: PrecisionOption.help)
    var precision: Precision = .fp32

    @Flag(help: "Benchmark the reference kernels without graph optimization.")
    var noOptimize = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        _ = try InputShapes(batch: batch, dimensionArguments: dimensions, shapeArguments: shapes)
    }

    // MARK: - Running

    func run() throws {
        let options = PrecisionOption.sessionOptions(threads: threads, noOptimize: noOptimize, precision: precision)
        let clock = ContinuousClock()
        let loadStart = clock.now
        let session = try InferenceSession(contentsOf: model, options: options)
        let loadSeconds = (clock.now - loadStart).seconds

        let inputShapes = try InputShapes(batch: batch, dimensionArguments: dimensions, shapeArguments: shapes)
        let inputNames = session.inputs.map(\.name)
        let unknownNames = inputShapes.unknownShapeNames(among: inputNames)
        guard unknownNames.isEmpty else {
            throw CommandLineError("--shape names no input of the model: \(TensorFiles.list(unknownNames)) "
                                       + "(inputs: \(TensorFiles.list(inputNames)))")
        }
        var feeds = try TensorFiles.assign(input, to: inputNames, role: "input").mapValues(\.tensor)
        var generator = SeededGenerator(seed: seed)
        for input in session.inputs where feeds[input.name] == nil {
            guard let type = input.type else {
                throw ONNXRunError(.unsupported, "input '\(input.name)' is not a tensor", file: model)
            }
            feeds[input.name] = try Tensor.random(type.elementType, shape: inputShapes.shape(of: input),
                                                  generator: &generator)
        }

        let firstStart = clock.now
        _ = try session.run(feeds)
        let firstRunSeconds = (clock.now - firstStart).seconds
        for _ in 0..<warmup { _ = try session.run(feeds) }

        var latencies: [Double] = []
        var timings: [NodeTiming] = []
        for _ in 0..<runs {
            let start = clock.now
            if profile {
                _ = try session.run(feeds, timings: &timings)
            } else {
                _ = try session.run(feeds)
            }
            latencies.append((clock.now - start).seconds)
        }

        let statistics = LatencyStatistics(latencies)
        let steps = profile ? StepProfile.aggregate(timings, runs: runs) : []
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        if json {
            var object: [String: Any] = [
                "model": model,
                "load_ms": loadSeconds * 1000,
                "first_run_ms": firstRunSeconds * 1000,
                "median_ms": statistics.median * 1000,
                "p90_ms": statistics.percentile90 * 1000,
                "min_ms": statistics.minimum * 1000,
                "mean_ms": statistics.mean * 1000,
                "runs": runs,
                "warmup": warmup,
                "threads": threadCount,
                "batch": batch,
                "optimized": !noOptimize,
                "precision": session.precision.rawValue,
                "kernels": session.kernelDescription,
                "inferences_per_second": Double(batch) / statistics.median,
                "inputs": feeds.mapValues { $0.shape },
            ]
            if profile { object["profile"] = steps.map(\.jsonObject) }
            print(try JSONOutput.string(object))
            return
        }

        print("model: \(Formatting.printable(model))")
        for input in session.inputs {
            if let tensor = feeds[input.name] { print("input \(Formatting.printable(input.name)): \(tensor)") }
        }
        print("threads: \(threadCount), optimization: \(noOptimize ? "none (reference kernels)" : "all"), "
            + "precision: \(session.precision)")
        print("kernels: \(session.kernelDescription)")
        print("load: \(Formatting.milliseconds(loadSeconds)) ms")
        print("first run: \(Formatting.milliseconds(firstRunSeconds)) ms")
        print("latency over \(runs) runs (after \(warmup) warmup): median \(Formatting.milliseconds(statistics.median)) ms, "
                  + "p90 \(Formatting.milliseconds(statistics.percentile90)) ms, "
                  + "min \(Formatting.milliseconds(statistics.minimum)) ms, "
                  + "mean \(Formatting.milliseconds(statistics.mean)) ms")
        print(String(format: "throughput: %.1f inferences/s", Double(batch) / statistics.median)
                  + (batch > 1 ? String(format: " (batch %d: %.1f batches/s)", batch, 1 / statistics.median) : ""))
        if profile { print(StepProfile.table(steps)) }
    }
}

// MARK: - Statistics

struct LatencyStatistics {
    var median: Double
    var percentile90: Double
    var minimum: Double
    var mean: Double

    /// `samples` must not be empty.
    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        let count = sorted.count
        median = count % 2 == 1 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2
        // Nearest rank: the smallest sample with at least 90% of the samples at or below it.
        let rank = Int((0.9 * Double(count)).rounded(.up))
        percentile90 = sorted[min(max(rank, 1), count) - 1]
        minimum = sorted[0]
        mean = sorted.reduce(0, +) / Double(count)
    }
}

// MARK: - Profile

/// One executed step's time over all timed runs.
struct StepProfile {
    var name: String
    var opType: String
    /// Seconds per run.
    var seconds: Double
    /// Floating-point operations per run.
    var flops: Double
    /// Share of the summed step time.
    var share: Double

    /// Sums timings by step (name and op), averages per run, sorts slowest first.
    static func aggregate(_ timings: [NodeTiming], runs: Int) -> [StepProfile] {
        var order: [String] = []
        var totals: [String: StepProfile] = [:]
        for timing in timings {
            let key = timing.opType + "\u{0}" + timing.name
            if totals[key] == nil {
                order.append(key)
                totals[key] = StepProfile(name: timing.name, opType: timing.opType, seconds: 0, flops: 0, share: 0)
            }
            totals[key]?.seconds += timing.seconds / Double(runs)
            totals[key]?.flops += timing.flops / Double(runs)
        }
        let sum = totals.values.reduce(0) { $0 + $1.seconds }
        return order.compactMap { totals[$0] }
            .map { step in
                var step = step
                step.share = sum > 0 ? step.seconds / sum : 0
                return step
            }
            .sorted { $0.seconds > $1.seconds }
    }

    var gigaflopsPerSecond: Double? { seconds > 0 && flops > 0 ? flops / seconds / 1e9 : nil }

    var jsonObject: [String: Any] {
        var object: [String: Any] = ["name": name, "op": opType, "ms": seconds * 1000, "share": share, "flops": flops]
        if let gigaflopsPerSecond { object["gflops_per_second"] = gigaflopsPerSecond }
        return object
    }

    /// Steps, then op types, as aligned tables.
    static func table(_ steps: [StepProfile]) -> String {
        var lines = ["", "per step (ms per run, slowest first):",
                     "      ms   share   GFLOP/s  op                    step"]
        func row(_ seconds: Double, _ share: Double, _ flops: Double, _ op: String, _ name: String) -> String {
            let rate = seconds > 0 && flops > 0 ? String(format: "%9.1f", flops / seconds / 1e9) : "        -"
            return String(format: "%8.3f  %5.1f%%  ", seconds * 1000, share * 100) + rate + "  "
                + Formatting.padded(Formatting.printable(op), to: 20) + "  " + Formatting.printable(name)
        }
        for step in steps { lines.append(row(step.seconds, step.share, step.flops, step.opType, step.name)) }

        var byOp: [String: (seconds: Double, share: Double, flops: Double, count: Int)] = [:]
        for step in steps {
            let total = byOp[step.opType, default: (0, 0, 0, 0)]
            byOp[step.opType] = (total.seconds + step.seconds, total.share + step.share, total.flops + step.flops,
                                 total.count + 1)
        }
        lines.append("")
        lines.append("per op type:")
        lines.append("      ms   share   GFLOP/s  op                    steps")
        for (op, total) in byOp.sorted(by: { $0.value.seconds > $1.value.seconds }) {
            lines.append(row(total.seconds, total.share, total.flops, op, String(total.count)))
        }
        let sum = steps.reduce(0) { $0 + $1.seconds }
        let flops = steps.reduce(0) { $0 + $1.flops }
        lines.append(row(sum, 1, flops, "total", String(steps.count)))
        return lines.joined(separator: "\n")
    }
}
