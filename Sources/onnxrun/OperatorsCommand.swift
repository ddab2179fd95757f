// `onnxrun operators`: the operators the registry implements, with their opset ranges (the README's list).

import ArgumentParser
import ONNXRun

struct OperatorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operators",
        abstract: "List the supported operators and the opset versions each implements.")

    @Flag(help: "Print the Markdown list the README holds.")
    var markdown = false

    func run() throws {
        let definitions = OperatorRegistry.standard.all
        if markdown {
            let items = definitions.map { definition -> String in
                let domain = definition.domain.isEmpty ? "" : "\(definition.domain)."
                return "`\(domain)\(definition.opType)` \(definition.opsets.lowerBound)+"
            }
            print("- " + items.joined(separator: ", "))
            return
        }
        for definition in definitions {
            let domain = definition.domain.isEmpty ? "ai.onnx" : definition.domain
            print("\(definition.opType)\t\(domain)\topsets \(definition.opsets.lowerBound)-\(definition.opsets.upperBound)")
        }
        print("\(definitions.count) operators")
    }
}
