// Structural checks of a loaded graph (one producer per value, nothing dangling, no cycles) and its stable
// topological sort.

extension LoadContext {
    /// Checks that every value has exactly one producer (graph input, initializer or node output), that every
    /// node input and graph output has one, and that the nodes form no cycle; returns the graph with its nodes
    /// in topological order (the file's order when it already is one; otherwise the order that keeps nodes as
    /// close to the file's as dependencies allow).
    func validatedAndSorted(_ graph: Graph) throws -> Graph {
        /// Where a value comes from; a node producer is its index in `graph.nodes`.
        enum Producer { case input, initializer, node(Int) }
        func describe(_ producer: Producer) -> String {
            switch producer {
            case .input: "a graph input"
            case .initializer: "an initializer"
            case .node(let index): "node '\(graph.nodes[index].name)' (\(graph.nodes[index].opType))"
            }
        }

        var producers: [String: Producer] = [:]
        producers.reserveCapacity(graph.inputs.count + graph.initializers.count + graph.nodes.count)
        for input in graph.inputs { producers[input.name] = .input }
        for name in graph.initializers.keys { producers[name] = .initializer }
        for (index, node) in graph.nodes.enumerated() {
            for output in node.outputs where !output.isEmpty {
                if let existing = producers[output] {
                    throw ONNXRunError(.invalidModel, "output '\(output)' is also produced by \(describe(existing))",
                                       file: source, node: node.name, opType: node.opType)
                }
                producers[output] = .node(index)
            }
        }

        // Dependencies between nodes: how many inputs of each node come from other nodes, and who consumes what.
        var pendingInputs = [Int](repeating: 0, count: graph.nodes.count)
        var consumers = [[Int]](repeating: [], count: graph.nodes.count)
        var alreadyOrdered = true
        for (index, node) in graph.nodes.enumerated() {
            for input in node.inputs where !input.isEmpty {
                guard let producer = producers[input] else {
                    throw ONNXRunError(.invalidModel, "input '\(input)' is not produced by any node, graph input "
                                       + "or initializer", file: source, node: node.name, opType: node.opType)
                }
                if case .node(let producerIndex) = producer {
                    pendingInputs[index] += 1
                    consumers[producerIndex].append(index)
                    if producerIndex >= index { alreadyOrdered = false }
                }
            }
        }
        guard !graph.outputs.isEmpty else { throw invalid("the graph '\(graph.name)' has no outputs") }
        for output in graph.outputs where producers[output.name] == nil {
            throw invalid("graph output '\(output.name)' is not produced by any node, graph input or initializer")
        }
        if alreadyOrdered { return graph }

        // Kahn's algorithm, always taking the ready node that comes first in the file.
        var ready = MinimumHeap<Int>()
        for index in graph.nodes.indices where pendingInputs[index] == 0 { ready.insert(index) }
        var order: [Int] = []
        order.reserveCapacity(graph.nodes.count)
        while let index = ready.removeMinimum() {
            order.append(index)
            for consumer in consumers[index] {
                pendingInputs[consumer] -= 1
                if pendingInputs[consumer] == 0 { ready.insert(consumer) }
            }
        }
        guard order.count == graph.nodes.count else {
            let stuck = graph.nodes.indices.filter { pendingInputs[$0] > 0 }
            let names = stuck.prefix(5).map { "'\(graph.nodes[$0].name)'" }.joined(separator: ", ")
            throw ONNXRunError(.invalidModel, "the graph has a cycle through nodes \(names)"
                               + (stuck.count > 5 ? " and \(stuck.count - 5) more" : ""),
                               file: source, node: graph.nodes[stuck[0]].name, opType: graph.nodes[stuck[0]].opType)
        }
        var sorted = graph
        sorted.nodes = order.map { graph.nodes[$0] }
        return sorted
    }
}

/// A binary min-heap, enough for the topological sort's ready set.
struct MinimumHeap<Element: Comparable> {
    private var elements: [Element] = []

    mutating func insert(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child] < elements[parent] else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeMinimum() -> Element? {
        guard !elements.isEmpty else { return nil }
        elements.swapAt(0, elements.count - 1)
        let minimum = elements.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < elements.count, elements[left] < elements[smallest] { smallest = left }
            if right < elements.count, elements[right] < elements[smallest] { smallest = right }
            guard smallest != parent else { return minimum }
            elements.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
