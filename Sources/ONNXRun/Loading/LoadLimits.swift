// Bounds the loader enforces on what a model file may ask for, so a hostile or corrupt file cannot exhaust memory.

/// Limits checked while loading a model or tensor file. Exceeding one throws `ONNXRunError` (`.invalidModel`;
/// `.malformedModel` for the nesting depth).
public struct LoadLimits: Sendable {
    /// The largest tensor (initializer, attribute or `.pb`/`.npy` tensor) in bytes.
    public var maxTensorBytes: Int
    /// The largest element count of one tensor, and of one declared shape.
    public var maxElementCount: Int
    /// The highest rank of a tensor or declared shape.
    public var maxRank: Int
    /// The sum of all initializer and attribute tensor bytes of one model.
    public var maxTotalBytes: Int
    /// How deep protobuf messages may nest (each subgraph adds three levels); guards the parser's stack.
    public var maxMessageDepth: Int

    public init(maxTensorBytes: Int = 1 << 32, maxElementCount: Int = 1 << 32, maxRank: Int = 64,
                maxTotalBytes: Int = 1 << 36, maxMessageDepth: Int = 64) {
        self.maxTensorBytes = maxTensorBytes
        self.maxElementCount = maxElementCount
        self.maxRank = maxRank
        self.maxTotalBytes = maxTotalBytes
        self.maxMessageDepth = maxMessageDepth
    }

    /// 4 GiB per tensor, 2^32 elements, rank 64, 64 GiB per model, 64 nested messages.
    public static let `default` = LoadLimits()
}
