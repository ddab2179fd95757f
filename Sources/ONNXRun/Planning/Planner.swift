// Planning for concrete input shapes, in named steps: types (and late folding), value slots, lifetimes and
// storage-sharing groups, Concat inputs placed in their output, buffer assignment, step costs.

struct Planner {
    let source: String
    /// The nodes that still run once the input shapes are known (more fold, e.g. Shape of an activation).
    private(set) var nodes: [TypedNode] = []
    private var outputTypesPerNode: [[TensorType]] = []
    private var types: [String: TensorType] = [:]
    private(set) var initialValues: [Tensor?] = []
    private var slots: [String: Int] = [:]
    private(set) var slotOfInput: [(name: String, slot: Int)] = []
    private(set) var slotOfOutput: [(name: String, slot: Int)] = []
    /// Per slot, the index of the last node reading it (`forever` for graph outputs and constants).
    private var lastUse: [Int] = []
    /// Union-find over slots whose values share storage.
    private var group: [Int] = []
    private(set) var bufferSizes: [Int] = []
    private var outputBuffersPerNode: [[Int?]] = []
    private(set) var placement = ConcatPlacement()

    private static let forever = Int.max

    init(source: String, nodes: [TypedNode], constants: [String: Tensor], inputs: [String: TensorType],
         outputs: [String]) throws {
        self.source = source
        let known = try inferTypes(nodes: nodes, constants: constants, inputs: inputs)
        assignSlots(inputs: inputs.keys.sorted(), outputs: outputs, constants: known.constants)
        computeLifetimes(outputs: outputs)
        placeConcatInputs(outputs: outputs)
        assignBuffers(outputs: outputs)
    }

    // MARK: Steps

    /// Concrete types flow from the inputs through every node; with the batch size known, more folds.
    private mutating func inferTypes(nodes givenNodes: [TypedNode], constants: [String: Tensor],
                                     inputs: [String: TensorType]) throws -> KnownValues {
        var known = KnownValues(types: inputs, constants: constants)
        for (name, tensor) in constants {
            known.types[name] = TensorType(elementType: tensor.elementType, fixedShape: tensor.shape)
        }
        for typedNode in givenNodes {
            let step = try known.propagate(through: typedNode, source: source)
            guard !step.folded else { continue }
            nodes.append(typedNode)
            outputTypesPerNode.append(step.outputTypes)
        }
        types = known.types
        return known
    }

    /// One slot per value: graph inputs first (sorted), then node inputs and outputs in order, then graph outputs.
    private mutating func assignSlots(inputs: [String], outputs: [String], constants: [String: Tensor]) {
        func slot(for name: String) -> Int {
            if let existing = slots[name] { return existing }
            slots[name] = initialValues.count
            initialValues.append(constants[name])
            return initialValues.count - 1
        }
        for name in inputs { _ = slot(for: name) }
        for node in nodes {
            for name in node.node.inputs where !name.isEmpty { _ = slot(for: name) }
            for name in node.node.outputs where !name.isEmpty { _ = slot(for: name) }
        }
        for name in outputs { _ = slot(for: name) }
        slotOfInput = inputs.map { ($0, slots[$0]!) }
        slotOfOutput = outputs.map { ($0, slots[$0]!) }
    }

    /// The last step reading each slot, and the groups of values sharing storage: a value a reference kernel
    /// returns may share storage with its inputs (Reshape, Flatten, Identity...), so such values form one group
    /// whose storage lives until the last member's last use.
    private mutating func computeLifetimes(outputs: [String]) {
        lastUse = Array(repeating: -1, count: initialValues.count)
        for (index, node) in nodes.enumerated() {
            for name in node.node.inputs where !name.isEmpty { lastUse[slots[name]!] = index }
        }
        for name in outputs { lastUse[slots[name]!] = Self.forever }
        for (index, value) in initialValues.enumerated() where value != nil { lastUse[index] = Self.forever }

        group = Array(0..<initialValues.count)
        for node in nodes where !(node.op is KernelOperator) {
            for output in node.node.outputs where !output.isEmpty {
                for input in node.node.inputs where !input.isEmpty {
                    group[root(slots[output]!)] = root(slots[input]!)
                }
            }
        }
    }

    /// Concat inputs written straight into their Concat's buffer (`ConcatPlacement`); a placed value shares its
    /// host's storage, so it joins the host's group.
    private mutating func placeConcatInputs(outputs: [String]) {
        var returnedGroups: Set<Int> = []
        for name in outputs { returnedGroups.insert(root(slots[name]!)) }
        let roots = slots.mapValues { root($0) }
        placement = ConcatPlacement(nodes: nodes, types: types) { name in
            roots[name].map { returnedGroups.contains($0) } ?? true
        }
        for (name, placed) in placement.windows {
            group[root(slots[name]!)] = root(slots[placed.host]!)
        }
    }

    private mutating func root(_ slot: Int) -> Int {
        var current = slot
        while group[current] != current {
            group[current] = group[group[current]]
            current = group[current]
        }
        return current
    }

    /// Best fit from the free list at each kernel output; a buffer is freed after its group's last use. A graph
    /// output is handed to the caller, so neither it nor anything sharing its storage lives in a buffer the next
    /// run overwrites.
    private mutating func assignBuffers(outputs: [String]) {
        var groupLastUse: [Int: Int] = [:]
        for slot in 0..<initialValues.count {
            let groupRoot = root(slot)
            groupLastUse[groupRoot] = max(groupLastUse[groupRoot, default: -1], lastUse[slot])
        }
        var returnedGroups: Set<Int> = []
        for name in outputs { returnedGroups.insert(root(slots[name]!)) }
        var freeBuffers: [Int] = []
        var releaseAtStep: [Int: [Int]] = [:]
        // The buffer of each hosting Concat's output, taken when the first value placed in it is computed.
        var hostBuffers: [String: Int] = [:]
        for (index, typedNode) in nodes.enumerated() {
            let outputTypes = outputTypesPerNode[index]
            var outputBuffers: [Int?] = []
            for (position, name) in typedNode.node.outputs.enumerated() {
                guard typedNode.op is KernelOperator, !name.isEmpty, !returnedGroups.contains(root(slots[name]!)),
                      position < outputTypes.count, let shape = outputTypes[position].fixedShape,
                      let count = checkedElementCount(shape) else {
                    outputBuffers.append(nil)
                    continue
                }
                let host = placement.host(of: name)
                if let host, let buffer = hostBuffers[host] {
                    outputBuffers.append(buffer)
                    continue
                }
                let hostType = host.flatMap { types[$0] } ?? outputTypes[position]
                let bytes = max((hostType.fixedShape.flatMap { checkedElementCount($0) } ?? count)
                                * hostType.elementType.byteSize, 1)
                let buffer: Int
                if let best = freeBuffers.filter({ bufferSizes[$0] >= bytes }).min(by: { bufferSizes[$0] < bufferSizes[$1] }) {
                    buffer = best
                } else if let largest = freeBuffers.max(by: { bufferSizes[$0] < bufferSizes[$1] }) {
                    buffer = largest
                    bufferSizes[largest] = bytes
                } else {
                    buffer = bufferSizes.count
                    bufferSizes.append(bytes)
                }
                freeBuffers.removeAll { $0 == buffer }
                outputBuffers.append(buffer)
                if let host { hostBuffers[host] = buffer }
                let end = groupLastUse[root(slots[name]!)] ?? index
                if end != Self.forever { releaseAtStep[max(end, index), default: []].append(buffer) }
            }
            outputBuffersPerNode.append(outputBuffers)
            freeBuffers.append(contentsOf: releaseAtStep[index] ?? [])
        }
    }

    /// The steps, with the slots each releases and its cost for the profiler.
    func steps() -> [ExecutionStep] {
        nodes.enumerated().map { index, typedNode in
            let node = typedNode.node
            let outputTypes = outputTypesPerNode[index]
            let releasedSlots = Set(node.inputs.filter { !$0.isEmpty }.map { slots[$0]! }.filter { lastUse[$0] == index })
            let cost = typedNode.op as? CostReporting
            let macs = cost?.multiplyAccumulates(
                inputs: node.inputs.map { $0.isEmpty ? nil : types[$0] }, outputs: outputTypes) ?? 0
            return ExecutionStep(
                node: typedNode,
                inputSlots: node.inputs.map { $0.isEmpty ? nil : slots[$0] },
                outputSlots: node.outputs.map { $0.isEmpty ? nil : slots[$0] },
                outputTypes: outputTypes,
                outputBuffers: outputBuffersPerNode[index],
                inputWindows: node.inputs.map { placement.windows[$0]?.window },
                outputWindow: node.outputs.first.flatMap { placement.windows[$0]?.window },
                isInPlace: placement.views.contains(index),
                slotsToRelease: Array(releasedSlots),
                flops: Double(2 * macs),
                isIntegerArithmetic: cost?.isIntegerArithmetic ?? false)
        }
    }
}
