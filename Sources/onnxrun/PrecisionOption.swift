// `--precision fp32|bf16`, shared by classify, run, bench, inspect and serve.

import ArgumentParser
import ONNXRun

extension Precision: ExpressibleByArgument {}

enum PrecisionOption {
    static let help = ArgumentHelp(
        "fp32 (default) or bf16: convolutions (but depthwise) and Gemm/MatMul multiply in bfloat16 (faster; logits move by ~0.1) "
            + "where the CPU has AVX512-BF16.", valueName: "P")

    /// The session options for `precision`; prints one line on stderr when bf16 was asked for and cannot run.
    static func sessionOptions(threads: Int?, noOptimize: Bool, precision: Precision) -> SessionOptions {
        noteIfUnavailable(precision, noOptimize: noOptimize)
        return SessionOptions(threadCount: threads, optimizationLevel: noOptimize ? .none : .all, precision: precision)
    }

    /// One line on stderr when bf16 was asked for and the session will run fp32.
    static func noteIfUnavailable(_ precision: Precision, noOptimize: Bool = false) {
        if precision == .bf16 {
            if noOptimize {
                StandardError.write("onnxrun: note: --precision bf16 has no effect with --no-optimize (the fp32 "
                    + "reference kernels run)\n")
            } else if let reason = Precision.bfloat16Unavailability {
                StandardError.write("onnxrun: note: --precision bf16 runs fp32: \(reason)\n")
            }
        }
    }
}
