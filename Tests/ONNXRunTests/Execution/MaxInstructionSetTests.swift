// The kernel level cap (ONNXRUN_MAX_ISA) is what this process runs: `tools/test` runs the model tests again under
// each lower level, and this test proves the cap took effect there (without it they would rerun the best level).

import CKernels
import Foundation
import XCTest

@testable import ONNXRun

final class MaxInstructionSetTests: XCTestCase {
    func testTheCapFromTheEnvironmentIsTheLevelThatRuns() throws {
        guard let setting = ProcessInfo.processInfo.environment["ONNXRUN_MAX_ISA"], !setting.isEmpty else {
            throw XCTSkip("ONNXRUN_MAX_ISA is not set (tools/test sets it for its runs at lower kernel levels)")
        }
        let hardware = KernelInstructionSet(rawValue: ork_detected_isa().rawValue) ?? .portable
        let expected: KernelInstructionSet = switch setting.lowercased() {
        case "portable": .portable
        case "avx2": min(hardware, .avx2)
        default: hardware
        }
        XCTAssertEqual(KernelInstructionSet.detected, expected, "ONNXRUN_MAX_ISA=\(setting)")
        XCTAssertNotEqual(QuantizedKernelVariant.current, .avx512VNNI, "ONNXRUN_MAX_ISA=\(setting) leaves out VNNI")
        XCTAssertNil(Precision.bfloat16Instructions, "ONNXRUN_MAX_ISA=\(setting) leaves out AVX512-BF16")
    }
}
