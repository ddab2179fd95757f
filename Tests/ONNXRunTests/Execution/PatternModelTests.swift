// Small torch exports holding the patterns the optimizer rewrites (models/patterns, tools/make_pattern_models.py):
// optimized at 1 and 2 threads they must match onnxruntime's outputs, with the rewrites visible in the steps.

import ONNXRunTestSupport
import XCTest

@testable import ONNXRun

final class PatternModelTests: XCTestCase {
    /// Runs the case optimized; checks the output against onnxruntime within 1e-4 x max(1, max |reference|) and
    /// returns the executed op types with their counts.
    private func run(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Int] {
        let folder = TestPaths.models.appendingPathComponent("patterns/\(name)")
        let input = try ModelLoader.loadTensor(contentsOf: folder.appendingPathComponent("test_data_set_0/input_0.pb").path)
        let expected = try ModelLoader.loadTensor(
            contentsOf: folder.appendingPathComponent("test_data_set_0/output_0.pb").path).tensor
        var steps: [String: Int] = [:]
        for threads in [1, 2] {
            let session = try InferenceSession(contentsOf: folder.appendingPathComponent("model.onnx").path,
                                               options: SessionOptions(threadCount: threads))
            var timings: [NodeTiming] = []
            let outputs = try session.run([session.inputs[0].name: input.tensor], timings: &timings)
            let output = try XCTUnwrap(outputs[session.outputs[0].name])
            steps = timings.reduce(into: [:]) { $0[$1.opType, default: 0] += 1 }
            XCTAssertEqual(output.shape, expected.shape, file: file, line: line)
            let scale = max(1, expected.floats.map(abs).max() ?? 0)
            let difference = zip(output.floats, expected.floats).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(difference, 1e-4 * scale, "\(name) at \(threads) threads, steps \(steps)",
                                     file: file, line: line)
        }
        return steps
    }

    func testConvNeXtBlock() throws {
        let steps = try run("convnext_block")
        XCTAssertEqual(steps["FusedLayerNorm"], 2, "\(steps)")
        XCTAssertEqual(steps["PackedGemm"], 2, "\(steps)")
        // block.1's and norm's permutes to NHWC (of tensors already channels-last) and back to NCHW (the NHWC tensor
        // read as channels-last): the layer scale, the residual Add and the down-sampling Conv run channels-last
        // without a copy or transform.
        XCTAssertEqual(steps["ChannelsLastAsIs"], 4, "\(steps)")
        XCTAssertNil(steps["Transpose"], "\(steps)")
        XCTAssertEqual(steps["ToNHWC"], 1, "only the graph input: \(steps)")
        XCTAssertNil(steps["ReduceMean"], "\(steps)")
    }

    /// The same block from torch's dynamo exporter (opset 18): LayerNormalization as one op, GELU still written out.
    /// GELU goes into the first Linear's store, and both permutes are the NHWC tensor itself.
    func testConvNeXtBlockFromTheDynamoExporter() throws {
        let steps = try run("convnext_block_dynamo")
        XCTAssertEqual(steps["PackedGemm"], 2, "\(steps)")
        XCTAssertEqual(steps["FusedLayerNorm"], 2, "\(steps)")
        for gone in ["Erf", "Gelu", "Div", "Transpose", "MatMul"] {
            XCTAssertNil(steps[gone], "\(gone): \(steps)")
        }
    }

    /// EfficientNet's MBConv blocks, from both torch exporters: SiLU in the convolutions' stores, squeeze-excite's
    /// scale in the projection's GEMM, no layout transform but at the graph's edges.
    func testEfficientNetBlocksFromBothExporters() throws {
        for name in ["efficientnet_blocks", "efficientnet_blocks_dynamo"] {
            let steps = try run(name)
            XCTAssertEqual(steps["ScaledPointwiseConv"], 2, "squeeze-excite's scale in the projection: \(steps)")
            for gone in ["Sigmoid", "Swish", "Transpose", "Mul"] {
                XCTAssertNil(steps[gone], "\(name), \(gone): \(steps)")
            }
            XCTAssertEqual(steps["ToNHWC", default: 0] + steps["ToNCHW", default: 0], 2 + 2,
                           "the graph input, the pooled scales and the output: \(name) \(steps)")
        }
    }

    func testShuffleNetUnits() throws {
        let steps = try run("shufflenet_units")
        XCTAssertEqual(steps["ChannelShuffleNHWC"], 2, "\(steps)")
        XCTAssertEqual(steps["ConcatNHWC"], 2, "\(steps)")
        XCTAssertEqual(steps["SliceNHWC"], 2, "\(steps)")
        XCTAssertNil(steps["Transpose"], "\(steps)")
        XCTAssertEqual(steps["ToNCHW"], 1, "\(steps)")
    }

    func testDenseNetBlock() throws {
        let steps = try run("densenet_block")
        // Each norm + relu is its 1x1 conv's prologue; the concats stay steps (in place: they copy nothing).
        XCTAssertEqual(steps["PreactivatedConv"], 3, "\(steps)")
        XCTAssertNil(steps["ChannelAffineNHWC"], "\(steps)")
        XCTAssertEqual(steps["ConcatNHWC"], 4, "\(steps)")
        XCTAssertEqual(steps["ToNCHW"], 1, "\(steps)")
    }

    func testUpsampling() throws {
        let steps = try run("upsampling")
        XCTAssertEqual(steps["FastResizeNHWC"], 2, "\(steps)")
    }

    func testAttention() throws {
        let steps = try run("attention")
        XCTAssertEqual(steps["BatchedMatMul"], 2, "\(steps)")
        XCTAssertEqual(steps["PackedGemm"], 2, "\(steps)")
        XCTAssertNil(steps["MatMul"], "\(steps)")
    }

    /// tf2onnx's Keras MobileNetV3 block (Transposes around every Conv, BatchNorm as Mul/Add on NHWC tensors, the
    /// asymmetric zero Pad before the stride-2 depthwise conv, ReduceMean over H, W): the Pad folds into the conv's
    /// pads through its Transpose, the BatchNorms into the convs, the Transposes cancel, so the activations and the
    /// residual Add go into the convs' stores as in a torch export.
    func testKerasMobileNetV3Block() throws {
        let steps = try run("keras_mobilenetv3_block")
        for gone in ["Pad", "Transpose", "Relu", "Clip", "HardSwish", "HardSigmoid", "ReduceMean"] {
            XCTAssertNil(steps[gone], "\(gone): \(steps)")
        }
        // Five convolutions: the projection takes squeeze-excite's `x * s` as a scaled pointwise convolution.
        XCTAssertEqual(steps["FusedConv"], 4, "\(steps)")
        XCTAssertEqual(steps["ScaledPointwiseConv"], 1, "\(steps)")
        XCTAssertEqual(steps["ContiguousAxesMean"], 1, "\(steps)")
        XCTAssertEqual(steps["Add"], 1, "only the input's normalization: \(steps)")
        // The input's two scalings and the squeeze-excite gate's / 6 after the clip the conv took.
        XCTAssertEqual(steps["Mul"], 3, "\(steps)")
    }

    /// Pads before tf2onnx's Transpose -> Conv that must stay: a nonzero value, reflect, the channel axis, and a
    /// zero Pad that an Add reads too. They run as row copies.
    func testKerasPadsThatMustNotFold() throws {
        let steps = try run("keras_pads_kept")
        XCTAssertEqual(steps["FastPad"], 4, "\(steps)")
        XCTAssertNil(steps["Pad"], "\(steps)")
        XCTAssertEqual(steps["FusedConv"], 4, "\(steps)")
        XCTAssertNil(steps["Transpose"], "\(steps)")
    }
}
