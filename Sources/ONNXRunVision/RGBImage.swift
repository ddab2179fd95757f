// RGBImage: a decoded picture as 8-bit RGB, interleaved, row-major, the currency of decoding and preprocessing.

import ONNXRun

/// An 8-bit RGB image: `pixels[(y * width + x) * 3 + channel]`, channels in R, G, B order.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes.
    public let pixels: [UInt8]

    /// An image over `pixels`; throws when the count is not `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0, width.multipliedReportingOverflow(by: height).overflow == false,
              pixels.count == width * height * 3
        else {
            throw ONNXRunError(.invalidArgument,
                               "\(pixels.count) bytes do not make a \(width)x\(height) RGB image")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// For code in this module that has already checked the count.
    init(checkedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at (x, y) as (red, green, blue). Traps when out of range (a programming error).
    public subscript(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8) {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
        let offset = (y * width + x) * 3
        return (pixels[offset], pixels[offset + 1], pixels[offset + 2])
    }
}
