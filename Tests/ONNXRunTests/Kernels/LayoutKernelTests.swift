// The NCHW <-> NHWC transposes against plain loops.

import XCTest

@testable import ONNXRun

final class LayoutKernelTests: XCTestCase {
    func testTransposesRoundTrip() {
        var random = SeededValues(seed: 7)
        // 1 and 3 channels (images) take their own paths; 13 the blocked one.
        for channels in [1, 3, 13] {
            let batch = 2, height = 9, width = 11
            let nchw = random.array(batch * channels * height * width)
            let input = GuardedBuffer(nchw)
            let nhwc = GuardedBuffer(count: nchw.count)
            LayoutKernels.transposeToChannelsLast(input: input.pointer, channels: channels,
                                                  pixelCount: height * width, output: nhwc.pointer,
                                                  images: 0..<batch)
            nhwc.assertGuardIntact()
            XCTAssertEqual(nhwc.values,
                           channelsLast(nchw, batch: batch, channels: channels, height: height, width: width))
            let back = GuardedBuffer(count: nchw.count)
            LayoutKernels.transposeToChannelsFirst(input: nhwc.pointer, channels: channels,
                                                   pixelCount: height * width, output: back.pointer, images: 0..<1)
            LayoutKernels.transposeToChannelsFirst(input: nhwc.pointer, channels: channels,
                                                   pixelCount: height * width, output: back.pointer,
                                                   images: 1..<batch)
            back.assertGuardIntact()
            XCTAssertEqual(back.values, nchw, "\(channels) channels")
        }
    }

    func testPixelRangesAssembleTheWholeTranspose() {
        var random = SeededValues(seed: 11)
        for channels in [1, 3, 13] {
            let batch = 2, pixels = 99
            let nchw = random.array(batch * channels * pixels)
            let input = GuardedBuffer(nchw)
            let nhwc = GuardedBuffer(count: nchw.count)
            let back = GuardedBuffer(count: nchw.count)
            // Uneven pieces, one not a multiple of the 8-pixel block, covering every pixel once.
            for pieces in [0..<5, 5..<50, 50..<99] {
                LayoutKernels.transposeToChannelsLast(input: input.pointer, channels: channels, pixelCount: pixels,
                                                      output: nhwc.pointer, images: 0..<batch, pixels: pieces)
            }
            nhwc.assertGuardIntact()
            XCTAssertEqual(nhwc.values, channelsLast(nchw, batch: batch, channels: channels, height: 9, width: 11))
            for pieces in [0..<1, 1..<98, 98..<99] {
                LayoutKernels.transposeToChannelsFirst(input: nhwc.pointer, channels: channels, pixelCount: pixels,
                                                       output: back.pointer, images: 0..<batch, pixels: pieces)
            }
            back.assertGuardIntact()
            XCTAssertEqual(back.values, nchw, "\(channels) channels")
        }
    }

    /// The operator splits an image's pixels over threads: the same result at every thread count.
    func testLayoutTransformAtEveryThreadCount() throws {
        var random = SeededValues(seed: 5)
        for (batch, channels, height, width) in [(1, 3, 96, 96), (3, 5, 7, 9), (1, 1, 1, 1)] {
            let nchw = random.array(batch * channels * height * width)
            let input = try Tensor(shape: [batch, channels, height, width], floats: nchw)
            let expected = channelsLast(nchw, batch: batch, channels: channels, height: height, width: width)
            for threads in 1...4 {
                let pool = ThreadPool(threadCount: threads)
                let nhwc = Tensor(zeros: .float, shape: [batch, height, width, channels])
                try LayoutTransform(direction: .toChannelsLast).execute([input], into: [nhwc], pool: pool)
                XCTAssertEqual(nhwc.withUnsafeBufferPointer(as: Float.self) { Array($0) }, expected,
                               "\(threads) threads, [\(batch), \(channels), \(height), \(width)]")
                let back = Tensor(zeros: .float, shape: [batch, channels, height, width])
                try LayoutTransform(direction: .toChannelsFirst).execute([nhwc], into: [back], pool: pool)
                XCTAssertEqual(back.withUnsafeBufferPointer(as: Float.self) { Array($0) }, nchw, "\(threads) threads")
            }
        }
    }
}
