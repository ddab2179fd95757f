// The `onnxrun` command line: subcommands classify (the default), inspect, run, bench, operators and serve, and the error policy.

import ArgumentParser
import Foundation
import ONNXRun

@main
struct ONNXRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onnxrun",
        abstract: "Run ONNX image classifiers, and inspect, run or benchmark any ONNX model.",
        usage: """
            onnxrun MODEL IMAGE... [-k N] [--json] [<classify options>]
            onnxrun inspect MODEL [--json | --dot]
            onnxrun run MODEL --input [NAME=]FILE... [--output-dir DIR] [--check [NAME=]FILE]
            onnxrun bench MODEL [--threads N] [--warmup W] [--runs R] [--batch B] [--json] [--profile]
            onnxrun operators [--markdown]
            onnxrun serve MODEL... [--model NAME=PATH] [--host H] [--port P] [--max-batch B] [--batch-window-ms T]
            """,
        discussion: """
            Without a subcommand, `onnxrun MODEL IMAGE...` classifies images (see `onnxrun classify --help`).
            """,
        subcommands: [ClassifyCommand.self, InspectCommand.self, RunCommand.self, BenchCommand.self,
                      OperatorsCommand.self, ServeCommand.self],
        defaultSubcommand: ClassifyCommand.self
    )

    // MARK: - Entry point

    /// Parses as ArgumentParser does, but reports library errors as one `onnxrun: error:` line with status 1.
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let error as ONNXRunError {
            CommandLineError.report(error.description)
            Foundation.exit(1)
        } catch let error as CommandLineError {
            CommandLineError.report(error.message)
            Foundation.exit(1)
        } catch let error where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // ArgumentParser's own errors and exits (help requests, ExitCode, ValidationError) keep its handling.
            exit(withError: error)
        } catch {
            // Anything else (a Foundation error, say) still gets the one-line form.
            CommandLineError.report("\(error)")
            Foundation.exit(1)
        }
    }
}

// MARK: - Errors of the command line itself

/// A mistake in how the command was used that only shows once files are read (an unknown input name, say).
struct CommandLineError: Error, CustomStringConvertible {
    var message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }

    /// Writes `onnxrun: error: <message>` on one line of stderr.
    static func report(_ message: String) {
        let oneLine = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        StandardError.write("onnxrun: error: \(oneLine)\n")
    }
}

// MARK: - Standard error

enum StandardError {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Whether stderr is a terminal (progress bars only go there).
    static var isTerminal: Bool { isatty(STDERR_FILENO) != 0 }
}
