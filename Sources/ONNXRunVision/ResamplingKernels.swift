// The implementations of the Pillow-exact resampling passes: the Swift reference (the oracle) and the C kernels,
// one per ISA level.

import CImageCodecs

/// Which code runs the two fixed-point passes of `ImageResampler`. Every implementation returns the same bytes;
/// `best` is the fastest this CPU runs, the others are there so tests can compare each against `reference`.
public enum ResamplingKernels: String, Sendable, CaseIterable {
    /// Plain Swift loops: slow, and the definition the C kernels are tested against.
    case reference
    /// Portable C.
    case portable
    /// x86-64 AVX2.
    case avx2
    /// x86-64 AVX-512 F/VL/BW.
    case avx512

    /// The fastest implementation this CPU supports (detected once).
    public static let best: ResamplingKernels = switch onnxrun_resample_isa_level() {
    case 2: .avx512
    case 1: .avx2
    default: .portable
    }

    /// Whether this CPU runs the implementation.
    public var isSupported: Bool {
        switch self {
        case .reference, .portable: true
        case .avx2: onnxrun_resample_isa_level() >= 1
        case .avx512: onnxrun_resample_isa_level() >= 2
        }
    }

    /// The horizontal pass over `rows` rows (see `onnxrun_resample_horizontal`).
    func horizontal(_ input: UnsafePointer<UInt8>, _ inputStride: Int, _ inputSize: Int, _ rows: Int,
                    _ coefficients: ImageResampler.Coefficients, _ output: UnsafeMutablePointer<UInt8>,
                    _ outputStride: Int) {
        withExtendedLifetime(coefficients) {
            var view = coefficients.view
            switch self {
            case .reference:
                ImageResampler.Coefficients.referenceHorizontal(input, inputStride, rows, view, output, outputStride)
            case .portable:
                onnxrun_resample_horizontal_portable(input, inputStride, inputSize, rows, &view, output, outputStride)
            #if arch(x86_64)
            case .avx2:
                onnxrun_resample_horizontal_avx2(input, inputStride, inputSize, rows, &view, output, outputStride)
            case .avx512:
                onnxrun_resample_horizontal_avx512(input, inputStride, inputSize, rows, &view, output, outputStride)
            #else
            case .avx2, .avx512:
                preconditionFailure("\(self) kernels exist only on x86-64 (isSupported is false)")
            #endif
            }
        }
    }

    /// One output row of the vertical pass (see `onnxrun_resample_vertical_row`).
    func verticalRow(_ input: UnsafePointer<UInt8>, _ inputStride: Int, _ weights: UnsafePointer<Int32>,
                     _ count: Int, _ rowBytes: Int, _ output: UnsafeMutablePointer<UInt8>) {
        switch self {
        case .reference:
            ImageResampler.Coefficients.referenceVerticalRow(input, inputStride, weights, count, rowBytes, output)
        case .portable:
            onnxrun_resample_vertical_row_portable(input, inputStride, weights, count, rowBytes, output)
        #if arch(x86_64)
        case .avx2:
            onnxrun_resample_vertical_row_avx2(input, inputStride, weights, count, rowBytes, output)
        case .avx512:
            onnxrun_resample_vertical_row_avx512(input, inputStride, weights, count, rowBytes, output)
        #else
        case .avx2, .avx512:
            preconditionFailure("\(self) kernels exist only on x86-64 (isSupported is false)")
        #endif
        }
    }
}
