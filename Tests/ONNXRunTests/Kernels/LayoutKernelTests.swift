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
}
