// Planning: the inputs of a Concat along the last axis written straight into slices of its output buffer, and the
// Concats that then copy nothing (DenseNet's growing concats, GoogLeNet's and SqueezeNet's branch concats).

/// Which values live as channel windows (`ChannelWindow`) of a Concat's output buffer, and which Concats run no step.
///
/// A Concat (an `AxisConcatenating` operator joining along the last axis, its output no graph output) hosts each input
/// that: appears once in it; is the one output of a step that can write a channel window; is no graph output and
/// not placed in another Concat already; and whose every reader can read it as a window. Concats are visited last
/// first, so a value read by several Concats goes to the last one (DenseNet's block concat, which holds every
/// layer's features). An earlier Concat whose inputs are consecutive windows of one host, in order, is itself a
/// window of that host (DenseNet's per-layer concats are prefixes of the block's) when all its readers can read
/// one. A Concat whose inputs are all placed runs no step; one with some placed copies only the others.
struct ConcatPlacement {
    /// Per placed value: the value whose buffer holds it (a hosting Concat's output) and where.
    private(set) var windows: [String: (host: String, window: ChannelWindow)] = [:]
    /// Indices of the Concat nodes that run no step: their output is their host's buffer or a window of it.
    private(set) var views: Set<Int> = []

    /// Places nothing.
    init() {}

    /// - Parameters:
    ///   - types: the concrete type of every value.
    ///   - isReturned: whether a value's storage is handed to the caller (a graph output, or shared with one):
    ///     such a value stays in storage of its own.
    init(nodes: [TypedNode], types: [String: TensorType], isReturned: (String) -> Bool) {
        var producer: [String: Int] = [:]
        var readers: [String: [(node: Int, position: Int)]] = [:]
        for (index, typedNode) in nodes.enumerated() {
            for (position, name) in typedNode.node.inputs.enumerated() where !name.isEmpty {
                readers[name, default: []].append((index, position))
            }
            for name in typedNode.node.outputs where !name.isEmpty { producer[name] = index }
        }
        func readableAsWindow(_ name: String, rank: Int) -> Bool {
            readers[name, default: []].allSatisfy { reader in
                (nodes[reader.node].op as? ChannelWindowOperator)?
                    .readsChannelWindow(input: reader.position, rank: rank) == true
            }
        }
        func writableAsWindow(_ name: String, rank: Int) -> Bool {
            guard let index = producer[name], let writer = nodes[index].op as? ChannelWindowOperator else { return false }
            return writer.writesChannelWindow(rank: rank) && nodes[index].node.outputs.filter({ !$0.isEmpty }) == [name]
                && nodes[index].node.outputs.first == name
        }

        for index in nodes.indices.reversed() {
            let node = nodes[index].node
            guard let concat = nodes[index].op as? AxisConcatenating, node.outputs.count == 1,
                  let output = node.outputs.first, !output.isEmpty, windows[output] == nil, !isReturned(output),
                  let shape = types[output]?.fixedShape, !shape.isEmpty, concat.concatenationAxis == shape.count - 1,
                  !node.inputs.isEmpty else { continue }
            let rank = shape.count
            let widths = node.inputs.map { types[$0]?.fixedShape.flatMap { $0.count == rank ? $0.last : nil } }
            guard !node.inputs.contains(""), widths.allSatisfy({ $0 != nil }) else { continue }
            let offsets = widths.indices.map { position in widths[..<position].reduce(0) { $0 + ($1 ?? 0) } }

            if let first = windows[node.inputs[0]], readableAsWindow(output, rank: rank),
               node.inputs.enumerated().allSatisfy({ position, name in
                   windows[name].map {
                       $0.host == first.host && $0.window == ChannelWindow(offset: first.window.offset + offsets[position],
                                                                           rowStride: first.window.rowStride)
                   } ?? false
               }) {
                windows[output] = first
                views.insert(index)
                continue
            }

            var placedAll = true
            for (position, name) in node.inputs.enumerated() {
                if node.inputs.filter({ $0 == name }).count == 1, windows[name] == nil, !isReturned(name),
                   writableAsWindow(name, rank: rank), readableAsWindow(name, rank: rank) {
                    windows[name] = (output, ChannelWindow(offset: offsets[position], rowStride: shape[rank - 1]))
                } else {
                    placedAll = placedAll && windows[name]?.host == output
                }
            }
            if placedAll { views.insert(index) }
        }
        hosts = Set(windows.values.map(\.host))
    }

    /// The value whose buffer holds `name`: its host when placed, itself when it hosts others, nil otherwise.
    func host(of name: String) -> String? {
        windows[name]?.host ?? (hosts.contains(name) ? name : nil)
    }

    private var hosts: Set<String> = []
}
