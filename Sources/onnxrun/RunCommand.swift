// `onnxrun run`: runs any model on tensors from .npy or .pb files, summarizes, saves and checks its outputs.

import ArgumentParser
import Foundation
import ONNXRun

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on input tensors from .npy or ONNX TensorProto .pb files.",
        discussion: """
            Prints each output's name, type and shape, min, max and mean, and the argmax of a vector (per row for \
            [N, C]). NAME= may be left out when the model has one input, or when a .pb file stores the input's name.
            """
    )

    @Argument(help: "The .onnx model file.")
    var model: String

    @Option(name: [.short, .long], help: ArgumentHelp("An input tensor (.npy or .pb); repeat for each input.",
                                                      valueName: "[NAME=]FILE"))
    var input: [String] = []

    @Option(name: .customLong("output-dir"),
            help: ArgumentHelp("Write each output as DIR/NAME.npy (NAME made file-safe).", valueName: "DIR"))
    var outputDirectory: String?

    @Option(name: [.customLong("check"), .customLong("expected")],
            help: ArgumentHelp("A reference output (.npy or .pb) to compare with; prints the max abs difference and "
                                   + "fails when it exceeds --tolerance. Repeatable.", valueName: "[NAME=]FILE"))
    var check: [String] = []

    @Option(help: ArgumentHelp("The largest max abs difference --check accepts.", valueName: "T"))
    var tolerance: Double = 1e-4

    @Option(help: ArgumentHelp("Threads for the kernels (default: all cores).", valueName: "N"))
    var threads: Int?

    @Option(help: PrecisionOption.help)
    var precision: Precision = .fp32

    @Flag(help: "Run the reference kernels without graph optimization (the oracle).")
    var noOptimize = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if !(tolerance >= 0) { throw ValidationError("--tolerance must be a non-negative number") }
    }

    // MARK: - Running

    func run() throws {
        let options = PrecisionOption.sessionOptions(threads: threads, noOptimize: noOptimize, precision: precision)
        let session = try InferenceSession(contentsOf: model, options: options)
        let inputNames = session.inputs.map(\.name)
        let feeds = try TensorFiles.assign(input, to: inputNames, role: "input")
        let missing = inputNames.filter { feeds[$0] == nil }
        guard missing.isEmpty else {
            let declared = session.inputs.map { "'\($0.name)' \(Formatting.type($0.type))" }.joined(separator: ", ")
            throw CommandLineError("missing input \(TensorFiles.list(missing)); give --input NAME=FILE "
                                       + "(inputs: \(declared))")
        }

        let start = ContinuousClock.now
        let outputs = try session.run(feeds.mapValues(\.tensor))
        let elapsed = ContinuousClock.now - start

        let outputNames = session.outputs.map(\.name)
        for name in outputNames {
            guard let tensor = outputs[name] else { continue }
            var line = "\(Formatting.printable(name)): \(tensor)"
            if let summary = TensorSummary(tensor) { line += "  " + summary.text }
            print(line)
        }
        print("inference: \(Formatting.milliseconds(elapsed.seconds)) ms")

        if let outputDirectory { try write(outputs, names: outputNames, to: outputDirectory) }
        try compare(outputs, names: outputNames)
    }

    /// Writes DIR/NAME.npy per output, making names file-safe and distinct.
    private func write(_ outputs: [String: Tensor], names: [String], to directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ONNXRunError(.io, "cannot create the output directory: \(error.localizedDescription)", file: directory)
        }
        var used: Set<String> = []
        for name in names {
            guard let tensor = outputs[name] else { continue }
            var fileName = TensorFiles.fileSafeName(name)
            var suffix = 2
            while used.contains(fileName.lowercased()) {
                fileName = "\(TensorFiles.fileSafeName(name))_\(suffix)"
                suffix += 1
            }
            used.insert(fileName.lowercased())
            let path = (directory as NSString).appendingPathComponent(fileName + ".npy")
            try NumpyFile.write(tensor, to: path)
            print("wrote \(path)")
        }
    }

    /// Prints the max abs difference to each reference and fails when one exceeds the tolerance.
    private func compare(_ outputs: [String: Tensor], names: [String]) throws {
        guard !check.isEmpty else { return }
        let references = try TensorFiles.assign(check, to: names, role: "output")
        var failed: [String] = []
        for name in names {
            guard let reference = references[name], let actual = outputs[name] else { continue }
            let difference = try TensorSummary.maximumAbsoluteDifference(actual, reference.tensor, name: name)
            let verdict = difference <= tolerance ? "ok" : "FAILED"
            print("check \(Formatting.printable(name)): max abs difference \(TensorValues.format(difference)) "
                      + "(tolerance \(TensorValues.format(tolerance))) \(verdict)")
            if difference > tolerance {
                failed.append("'\(name)' by \(TensorValues.format(difference))")
            }
        }
        if !failed.isEmpty {
            throw CommandLineError("output \(failed.joined(separator: ", ")) differs from the reference by more than "
                                       + "the tolerance \(TensorValues.format(tolerance))")
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
