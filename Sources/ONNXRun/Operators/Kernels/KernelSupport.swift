// Shared pieces of the CKernels wrappers: the ISA level, aligned packed storage, conv shapes.

import CKernels

// MARK: - Instruction set

/// The vector instruction set the C kernels use; detected once, lowered by tests to cover every level.
enum KernelInstructionSet: Int32, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    /// The best level this CPU supports.
    static var detected: KernelInstructionSet { KernelInstructionSet(rawValue: ork_detected_isa_level()) ?? .portable }

    /// The level in use now.
    static var current: KernelInstructionSet { KernelInstructionSet(rawValue: ork_isa_level()) ?? .portable }

    /// Uses `level` (at most `detected`) for every kernel call from now on, in every thread; returns the level in
    /// effect.
    @discardableResult
    static func use(_ level: KernelInstructionSet) -> KernelInstructionSet {
        KernelInstructionSet(rawValue: ork_set_isa_level(level.rawValue)) ?? .portable
    }

    static func < (lhs: KernelInstructionSet, rhs: KernelInstructionSet) -> Bool { lhs.rawValue < rhs.rawValue }

    var description: String {
        switch self {
        case .portable: "portable C"
        case .avx2: "AVX2+FMA"
        case .avx512: "AVX-512"
        }
    }
}

// MARK: - Aligned storage

/// Float storage aligned to 64 bytes (an AVX-512 vector, a cache line), written once while packing, then read-only.
final class AlignedFloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit {
        pointer.deallocate()
    }

    /// The storage as 32-bit words, for packed layouts that are not floats (bfloat16 pairs).
    var words: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt32.self)
    }
}

// MARK: - Convolution shape

/// The geometry of one NHWC convolution call (output size and begin pads already resolved, e.g. by
/// `ConvolutionGeometry`); end pads are implied by the output size.
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
    var groups = 1

    /// Work units of the depthwise kernel: output rows of all images.
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
            && groups > 0 && inputChannels % groups == 0 && outputChannels % groups == 0
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
