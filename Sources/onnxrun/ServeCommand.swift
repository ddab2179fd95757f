// `onnxrun serve`: serves models over the Open Inference Protocol (KServe v2) until SIGTERM or SIGINT.

import ArgumentParser
import Dispatch
import Foundation
import ONNXRun
import ONNXRunServer

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over HTTP with the Open Inference Protocol (KServe v2), for KServe or any v2 client.",
        discussion: """
            A model is named by --model NAME=PATH, else by its folder for .../NAME/model.onnx, else by its file \
            name without .onnx. When ready, prints one line with the server's http://HOST:PORT. SIGTERM or \
            SIGINT: stops accepting, answers the requests in flight, exits 0.
            """
    )

    @Argument(help: "Model files to serve.")
    var models: [String] = []

    @Option(name: .customLong("model"), help: ArgumentHelp("A model with an explicit name; repeatable.",
                                                          valueName: "NAME=PATH"))
    var namedModels: [String] = []

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port (0 takes a free one).")
    var port = 8000

    @Option(help: ArgumentHelp("Threads per model run (default: all cores).", valueName: "N"))
    var threads: Int?

    @Option(help: PrecisionOption.help)
    var precision: Precision = .fp32

    @Option(name: .customLong("max-batch"), help: ArgumentHelp(
        "Dynamic batching: concurrent requests to a model with a symbolic batch dimension run as one batch of up to B rows (1: off).",
        valueName: "B"))
    var maxBatch = 1

    @Option(name: .customLong("batch-window-ms"), help: ArgumentHelp(
        "How long the first request of a batch waits for more.", valueName: "T"))
    var batchWindow = 2.0

    @Option(name: .customLong("max-body-mb"), help: ArgumentHelp("Largest request body.", valueName: "M"))
    var maxBodyMegabytes = 64

    func validate() throws {
        guard !models.isEmpty || !namedModels.isEmpty else {
            throw ValidationError("give at least one model: MODEL.onnx or --model NAME=PATH")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard maxBatch >= 1, batchWindow >= 0, maxBodyMegabytes >= 1, (threads ?? 1) >= 1 else {
            throw ValidationError("--max-batch, --max-body-mb and --threads must be at least 1, --batch-window-ms >= 0")
        }
    }

    func run() throws {
        var list = models.map { (name: ServerConfiguration.modelName(forPath: $0), path: $0) }
        for entry in namedModels {
            guard let separator = entry.firstIndex(of: "="), separator != entry.startIndex else {
                throw CommandLineError("--model '\(entry)' must be NAME=PATH")
            }
            list.append((String(entry[..<separator]), String(entry[entry.index(after: separator)...])))
        }
        PrecisionOption.noteIfUnavailable(precision)
        let configuration = ServerConfiguration(
            host: host, port: port, models: list, threadCount: threads, precision: precision, maxBatch: maxBatch,
            batchWindowMilliseconds: batchWindow, maxBodyBytes: maxBodyMegabytes << 20)
        let outcome = ServeOutcome()
        let finished = DispatchSemaphore(value: 0)
        Task {
            do {
                let server = try await InferenceServer.start(configuration)
                outcome.installShutdown(for: server)
                // One line, written at once (stdout may be a pipe a supervisor reads the URL from).
                let line = "onnxrun serving \(list.map(\.name).joined(separator: ", ")) at \(server.url)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
                await server.waitUntilClosed()
            } catch {
                outcome.error = error
            }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error { throw error }
        // Closing the listener is only the start of a shutdown: the signal handler exits when in-flight requests
        // are answered.
        outcome.waitForShutdown()
    }
}

/// The server's error, if it failed to start, and the signal handlers that shut it down.
private final class ServeOutcome: @unchecked Sendable {
    var error: Error?
    private var sources: [any DispatchSourceSignal] = []
    private let shutdownDone = DispatchSemaphore(value: 0)

    func installShutdown(for server: InferenceServer) {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                Task {
                    await server.shutdown()
                    shutdownDone.signal()
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    func waitForShutdown() {
        shutdownDone.wait()
    }
}
