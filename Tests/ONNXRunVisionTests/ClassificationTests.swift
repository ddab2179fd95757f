// Classification tests: softmax, top-k ranking, labels (file, ImageNet default, 1001-class background shift).

import Foundation
import ONNXRun
import ONNXRunTestSupport
import ONNXRunVision
import XCTest

final class ClassificationTests: XCTestCase {
    func testSoftmaxKnownValues() {
        // numpy: exp([1,2,3]) / sum = [0.09003057, 0.24472847, 0.66524096]
        let probabilities = Classification.softmax([1, 2, 3])
        for (value, expected) in zip(probabilities, [Float(0.09003057), 0.24472847, 0.66524096]) {
            XCTAssertEqual(value, expected, accuracy: 1e-7)
        }
        // Stable for large logits (a naive exp overflows to inf/inf = NaN).
        let large = Classification.softmax([1000, 1001, 1002])
        for (value, expected) in zip(large, probabilities) { XCTAssertEqual(value, expected, accuracy: 1e-7) }
        XCTAssertEqual(Classification.softmax([-Float.infinity, 0]), [0, 1])
        XCTAssertEqual(Classification.softmax([Float.infinity, 5, .infinity]), [0.5, 0, 0.5])
        XCTAssertEqual(Classification.softmax([]), [])
    }

    func testTopKRanksAndBreaksTiesByIndex() throws {
        let scores: [Float] = [0.1, 0.7, .nan, 0.7, 0.05, 0.9]
        let top = try Classification.topK(scores: scores, labels: ["a", "b", "c", "d", "e", "f"], k: 4, applySoftmax: false)
        XCTAssertEqual(top.map(\.index), [5, 1, 3, 0])
        XCTAssertEqual(top.map(\.label), ["f", "b", "d", "a"])
        XCTAssertEqual(top.map(\.score), [0.9, 0.7, 0.7, 0.1])
        let all = try Classification.topK(scores: scores, labels: nil, k: 10, applySoftmax: false)
        XCTAssertEqual(all.count, 6)
        XCTAssertEqual(all.last?.index, 2)  // NaN last
        XCTAssertEqual(all.first?.label, "class 5")
        XCTAssertThrowsError(try Classification.topK(scores: scores, k: 0))
    }

    func testTopKWithSoftmaxGivesProbabilities() throws {
        let top = try Classification.topK(scores: [1, 3, 2], labels: ["x", "y", "z"], k: 2)
        XCTAssertEqual(top.map(\.index), [1, 2])
        XCTAssertEqual(top[0].score, 0.66524096, accuracy: 1e-7)
        XCTAssertEqual(top[1].score, 0.24472847, accuracy: 1e-7)
    }

    func testImageNetDefaultsAndBackgroundShift() throws {
        var scores = [Float](repeating: 0, count: 1000)
        scores[281] = 5
        XCTAssertEqual(try Classification.topK(scores: scores, k: 1).first?.label, "tabby")
        // 1001 outputs: index 0 is background, so ImageNet class 281 is output 282.
        var shifted = [Float](repeating: 0, count: 1001)
        shifted[282] = 5
        shifted[0] = 4
        let top = try Classification.topK(scores: shifted, k: 2)
        XCTAssertEqual(top.map(\.index), [282, 0])
        XCTAssertEqual(top.map(\.label), ["tabby", "background"])
        // A labels file with 1000 names for a 1001-class model gets the same shift.
        let fromFile = try Classification.topK(scores: shifted, labels: ImageNetLabels.names, k: 1)
        XCTAssertEqual(fromFile.first?.label, "tabby")
        XCTAssertThrowsError(try Classification.topK(scores: shifted, labels: ["a", "b"], k: 1))
    }

    func testTopKOverOutputTensor() throws {
        let output = try Tensor(shape: [2, 3], floats: [0, 1, 2, 5, 4, 3])
        let rows = try Classification.topK(output: output, labels: ["a", "b", "c"], k: 1, applySoftmax: false)
        XCTAssertEqual(rows.map { $0[0].label }, ["c", "a"])
        let column = try Tensor(shape: [1, 3, 1, 1], floats: [0, 9, 2])
        XCTAssertEqual(try Classification.topK(output: column, labels: ["a", "b", "c"], k: 1)[0][0].index, 1)
        XCTAssertThrowsError(try Classification.topK(output: Tensor(shape: [1, 3, 2], floats: [Float](repeating: 0, count: 6)), k: 1))
    }

    func testLoadingLabelsFile() throws {
        let path = try Fixtures.temporaryFile(Array("cat\n dog \r\nbird\n\n".utf8), name: "labels.txt")
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try ClassLabels.load(contentsOf: path), ["cat", "dog", "bird"])
        XCTAssertThrowsError(try ClassLabels.load(contentsOf: "/nonexistent/labels.txt"))
    }

    func testImageNetNamesMatchSharedLabels() throws {
        let path = try TestPaths.requireShared("labels/imagenet-classes.txt").path
        XCTAssertEqual(try ClassLabels.load(contentsOf: path), ImageNetLabels.names)
    }
}
