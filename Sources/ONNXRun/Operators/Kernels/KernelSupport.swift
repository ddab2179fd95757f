// Shared pieces of the CKernels wrappers: the ISA levels, aligned packed storage, the convolution call shape.

import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Instruction set

/// An ISA level of the C kernels. Each level's variants are named functions (`ork_gemm_avx2`, ...) gathered in a
/// table; sessions use the detected level's, tests run every level the CPU has by passing it to the wrappers.
enum KernelInstructionSet: UInt32, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    /// The best level this CPU supports: the one the kernels use unless told otherwise.
    static let detected = KernelInstructionSet(rawValue: ork_kernels().pointee.isa.rawValue) ?? .portable

    /// The levels this CPU runs, portable first.
    static var supported: [KernelInstructionSet] { allCases.filter { $0 <= detected } }

    /// This level's kernel variants; the level must be supported.
    var kernels: ork_kernel_table {
        guard let table = ork_kernel_table_for(ork_isa(rawValue: rawValue)) else {
            preconditionFailure("this CPU lacks the \(self) kernels (detected: \(Self.detected))")
        }
        return table.pointee
    }

    static func < (lhs: KernelInstructionSet, rhs: KernelInstructionSet) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The cap on the level (ONNXRUN_MAX_ISA, applied by the C dispatch); fails on a value the dispatch would
    /// ignore, so a misspelt cap never runs quietly uncapped.
    static func checkEnvironmentCap() throws {
        guard ork_max_isa_setting() == ORK_MAX_ISA_INVALID else { return }
        let value = getenv("ONNXRUN_MAX_ISA").map { String(cString: $0) } ?? ""
        throw ONNXRunError(.invalidArgument, "ONNXRUN_MAX_ISA is '\(value)'; expected portable, avx2 or avx512 "
                           + "(the highest kernel level to use), or unset for the best this CPU has")
    }

    var description: String {
        guard let table = ork_kernel_table_for(ork_isa(rawValue: rawValue)) else { return "level \(rawValue)" }
        return String(cString: table.pointee.name)
    }
}

// MARK: - Aligned storage

/// Zeroed bytes aligned to 64 (an AVX-512 vector, a cache line), written while packing, then read-only. Large weights
/// packed once and kept lie end to end in huge pages (`PackedWeightAllocator`); small ones and copies made for one run
/// live on the heap.
final class AlignedBytes: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    /// Where `pointer` lies in the packed-weight regions; nil for a heap buffer.
    private let allocation: PackedWeightAllocator.Allocation?

    /// Storage for weights packed once and kept by a kernel.
    convenience init(count: Int) {
        self.init(count: count, inHugePages: count >= PackedWeightAllocator.minimumByteCount)
    }

    /// Storage for packed weights that live for one run: the regions never reuse a dead buffer's space.
    convenience init(transientCount count: Int) {
        self.init(count: count, inHugePages: false)
    }

    private init(count: Int, inHugePages: Bool) {
        self.count = count
        if inHugePages, let allocation = PackedWeightAllocator.shared.allocate(byteCount: count) {
            pointer = allocation.pointer
            self.allocation = allocation
        } else {
            pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
            pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
            allocation = nil
        }
    }

    deinit {
        if let allocation {
            allocation.release()
        } else {
            pointer.deallocate()
        }
    }
}

/// `AlignedBytes` holding floats.
final class AlignedFloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    private let bytes: AlignedBytes

    /// Storage for weights packed once and kept by a kernel.
    convenience init(count: Int) {
        self.init(count: count, bytes: AlignedBytes(count: max(count, 1) * MemoryLayout<Float>.stride))
    }

    /// Storage for packed weights that live for one run.
    convenience init(transientCount count: Int) {
        self.init(count: count, bytes: AlignedBytes(transientCount: max(count, 1) * MemoryLayout<Float>.stride))
    }

    private init(count: Int, bytes: AlignedBytes) {
        self.count = count
        self.bytes = bytes
        pointer = bytes.pointer.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// The storage as 32-bit words, for packed layouts that are not floats (bfloat16 pairs).
    var words: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt32.self)
    }
}

// MARK: - Convolution shape

/// The geometry of one NHWC convolution or pooling call, as the C kernels take it: 2-D, pads resolved. Made from a
/// `ConvolutionGeometry` (the one place that resolves ONNX's window attributes), or edited from one (the expansion
/// bands' virtual images). Convolutions read only the begin pads (the output size implies the rest); pooling's
/// count_include_pad needs the end pads, as ceil_mode windows may reach past them.
struct ConvolutionShape: Sendable, Equatable {
    var batch: Int
    var inputHeight: Int
    var inputWidth: Int
    var inputChannels: Int
    var outputHeight: Int
    var outputWidth: Int
    var outputChannels: Int
    var kernelHeight: Int
    var kernelWidth: Int
    var strideHeight = 1
    var strideWidth = 1
    var dilationHeight = 1
    var dilationWidth = 1
    var padTop = 0
    var padLeft = 0
    var padBottom = 0
    var padRight = 0
    var groups = 1
    /// Floats from one output pixel to the next when the output is a channel window of wider pixel rows (a
    /// Concat's buffer); 0: `outputChannels`, dense. The convolution, Winograd and pooling kernels honor it.
    var outputPixelStride = 0

    /// The call for a 2-D `geometry` over `batch` images.
    init(batch: Int, inputChannels: Int, outputChannels: Int, groups: Int = 1, geometry: ConvolutionGeometry) {
        precondition(geometry.spatialRank == 2, "NHWC kernels take 2-D windows, got \(geometry)")
        self.init(batch: batch, inputHeight: geometry.inputSize[0], inputWidth: geometry.inputSize[1],
                  inputChannels: inputChannels, outputHeight: geometry.outputSize[0],
                  outputWidth: geometry.outputSize[1], outputChannels: outputChannels,
                  kernelHeight: geometry.kernelSize[0], kernelWidth: geometry.kernelSize[1],
                  strideHeight: geometry.strides[0], strideWidth: geometry.strides[1],
                  dilationHeight: geometry.dilations[0], dilationWidth: geometry.dilations[1],
                  padTop: geometry.padsBegin[0], padLeft: geometry.padsBegin[1], padBottom: geometry.padsEnd[0],
                  padRight: geometry.padsEnd[1], groups: groups)
    }

    init(batch: Int, inputHeight: Int, inputWidth: Int, inputChannels: Int, outputHeight: Int, outputWidth: Int,
         outputChannels: Int, kernelHeight: Int, kernelWidth: Int, strideHeight: Int = 1, strideWidth: Int = 1,
         dilationHeight: Int = 1, dilationWidth: Int = 1, padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0,
         padRight: Int = 0, groups: Int = 1) {
        self.batch = batch
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.inputChannels = inputChannels
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
        self.outputChannels = outputChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight
        self.strideWidth = strideWidth
        self.dilationHeight = dilationHeight
        self.dilationWidth = dilationWidth
        self.padTop = padTop
        self.padLeft = padLeft
        self.padBottom = padBottom
        self.padRight = padRight
        self.groups = groups
    }

    /// Work units of the depthwise and pooling kernels: output rows of all images.
    var outputRowCount: Int { batch * outputHeight }
    /// Work units of the general convolution: output pixels of all images.
    var outputPixelCount: Int { batch * outputHeight * outputWidth }
    var inputElementCount: Int { batch * inputHeight * inputWidth * inputChannels }
    var outputElementCount: Int { batch * outputHeight * outputWidth * outputChannels }

    /// True when every field is in range for the C kernels (positive sizes, strides and dilations, groups dividing
    /// the channels).
    var isValid: Bool {
        batch >= 0 && inputHeight >= 0 && inputWidth >= 0 && inputChannels > 0 && outputHeight >= 0
            && outputWidth >= 0 && outputChannels > 0 && kernelHeight > 0 && kernelWidth > 0 && strideHeight > 0
            && strideWidth > 0 && dilationHeight > 0 && dilationWidth > 0 && padTop >= 0 && padLeft >= 0
            && padBottom >= 0 && padRight >= 0 && groups > 0 && inputChannels % groups == 0 && outputChannels % groups == 0
    }

    /// The C kernels' arguments for this call with `packedWeights` and the epilogue of `activation`.
    func kernelArguments(input: UnsafePointer<Float>?, packedWeights: UnsafePointer<Float>?,
                         residual: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>?,
                         activation: Activation) -> ork_convolution_args {
        ork_convolution_args(
            batch: batch, input_h: inputHeight, input_w: inputWidth, input_channels: inputChannels,
            output_h: outputHeight, output_w: outputWidth, output_channels: outputChannels, kernel_h: kernelHeight,
            kernel_w: kernelWidth, stride_h: strideHeight, stride_w: strideWidth, dilation_h: dilationHeight,
            dilation_w: dilationWidth, pad_top: padTop, pad_left: padLeft, groups: groups, input: input,
            packed_weights: packedWeights, residual: residual, output: output,
            min: activation.kernelClamp.minimum, max: activation.kernelClamp.maximum,
            activation: activation.kernelFunction, output_pixel_stride: outputPixelStride)
    }

    /// The input rows (clipped to the image) that output rows `outputRows` of one image read.
    func inputRows(outputRows: Range<Int>) -> Range<Int> {
        let first = outputRows.lowerBound * strideHeight - padTop
        let last = (outputRows.upperBound - 1) * strideHeight - padTop + (kernelHeight - 1) * dilationHeight
        let lower = min(max(first, 0), inputHeight)
        let upper = min(max(last + 1, lower), inputHeight)
        return lower..<upper
    }

    /// Output rows `outputRows` of one image as a call of their own whose input row 0 is `window.lowerBound` of this
    /// call's image and which sees input rows up to `inputRowsEnd` (rows past it are not read by these output rows,
    /// or are past the image): its padding logic then sees the real image's edges only. `window`: the input rows
    /// the output rows read (empty when they read only padding: the call then has no input rows).
    func rowsCall(outputRows: Range<Int>, inputRowsEnd: Int) -> (shape: ConvolutionShape, window: Range<Int>) {
        let window = inputRows(outputRows: outputRows)
        var shape = self
        shape.batch = 1
        shape.outputHeight = outputRows.count
        shape.inputHeight = window.isEmpty ? 0 : inputRowsEnd - window.lowerBound
        shape.padTop = window.isEmpty ? 0 : window.lowerBound - (outputRows.lowerBound * strideHeight - padTop)
        return (shape, window)
    }

    /// Input rows one window of `outputRows` consecutive output rows spans, unclipped.
    func windowRows(outputRows: Int) -> Int {
        (outputRows - 1) * strideHeight + (kernelHeight - 1) * dilationHeight + 1
    }
}

/// Throws `invalidArgument` naming `what` unless `condition` holds.
func requireKernelArgument(_ condition: Bool, _ what: @autoclosure () -> String) throws {
    if !condition { throw ONNXRunError(.invalidArgument, what()) }
}

/// Calls `body` with a buffer over `array`, or with nil.
func withOptionalBufferPointer<Result>(_ array: [Float]?,
                                       _ body: (UnsafeBufferPointer<Float>?) throws -> Result) rethrows -> Result {
    guard let array else { return try body(nil) }
    return try array.withUnsafeBufferPointer { try body($0) }
}
