// The split policy's decisions: how many tasks, how even, and how a GEMM is split by rows or column blocks.

import XCTest

@testable import ONNXRun

final class ParallelismTests: XCTestCase {
    func testBusiestThreadTakesTasksInTurn() {
        // 14 rows in 6 tasks are 2, 2, 3, 2, 2, 3: two threads compute 2+3+3 and 2+2+2.
        XCTAssertEqual(Parallelism.busiestThreadUnits(units: 14, tasks: 6, threads: 2), 8)
        XCTAssertEqual(Parallelism.busiestThreadUnits(units: 14, tasks: 2, threads: 2), 7)
        XCTAssertEqual(Parallelism.busiestThreadUnits(units: 7, tasks: 6, threads: 2), 4)
        XCTAssertEqual(Parallelism.busiestThreadUnits(units: 3, tasks: 3, threads: 2), 2)
        XCTAssertEqual(Parallelism.busiestThreadUnits(units: 5, tasks: 1, threads: 2), 5)
        XCTAssertEqual(Parallelism.busiestThreadUnits(units: 10, tasks: 4, threads: 8), 3)
    }

    func testFewUnitsSplitEvenlyRatherThanAFewPerThread() {
        let plenty = 1 << 30
        // A 14-row depthwise step: 2 tasks of 7 rows, not 6 uneven ones.
        XCTAssertEqual(Parallelism.taskCount(work: plenty, granularity: .depthwise, threads: 2, units: 14), 2)
        // Even in 6 (28 rows: 4 or 5 each, 14 per thread), and units that no count splits evenly keep the most.
        XCTAssertEqual(Parallelism.taskCount(work: plenty, granularity: .depthwise, threads: 2, units: 28), 6)
        XCTAssertEqual(Parallelism.taskCount(work: plenty, granularity: .depthwise, threads: 2, units: 7), 6)
        XCTAssertEqual(Parallelism.taskCount(work: plenty, granularity: .elementwise, threads: 2, units: 100_000), 6)
        XCTAssertEqual(Parallelism.taskCount(work: plenty, granularity: .dense, threads: 3, units: 10), 9)
        // Too little work, one thread or one unit: one task.
        XCTAssertEqual(Parallelism.taskCount(work: 1000, granularity: .dense, threads: 2, units: 14), 1)
        XCTAssertEqual(Parallelism.taskCount(work: plenty, granularity: .dense, threads: 1, units: 14), 1)
        XCTAssertEqual(Parallelism.taskCount(work: plenty, granularity: .dense, threads: 2, units: 1), 1)
        // Never busier than the most tasks allowed, never more tasks than allowed.
        for threads in 2...4 {
            for units in 1...60 {
                for most in 1...(threads * 3) {
                    let tasks = Parallelism.balancedTaskCount(units: units, most: most, threads: threads)
                    XCTAssertTrue((1...most).contains(tasks), "\(units) units, \(most) tasks, \(threads) threads")
                    XCTAssertLessThanOrEqual(
                        Parallelism.busiestThreadUnits(units: units, tasks: tasks, threads: threads),
                        Parallelism.busiestThreadUnits(units: units, tasks: most, threads: threads))
                }
            }
        }
    }

    private func weights(reduction: Int, outputs: Int) throws -> PackedMatrixWeights {
        try PackedMatrixWeights.packing(weights: Array(repeating: 0.5, count: reduction * outputs),
                                        layout: .outputMajor, reductionCount: reduction, outputCount: outputs)
    }

    func testGemmSplitsColumnsIntoBlocksThreadsCanShare() throws {
        typealias Split = PackedMatrixWeights.ParallelSplit
        let block = PackedMatrixWeights.splitColumnBlock
        let panel = PackedMatrixWeights.columnBlock
        // MobileNetV3-Small's 7x7 projection, 576 -> 96: 3 two-panel blocks would leave 2 on one thread; 6 panels
        // give each 3.
        XCTAssertEqual(try weights(reduction: 576, outputs: 96).parallelSplit(rows: 49, threads: 2),
                       Split(tasks: 6, columnUnit: panel, busiestShare: 0.5))
        // 160 columns: 5 blocks (3 on one thread) or 10 panels (5 each).
        XCTAssertEqual(try weights(reduction: 960, outputs: 160).parallelSplit(rows: 49, threads: 2),
                       Split(tasks: 6, columnUnit: panel, busiestShare: 0.5))
        // 576 columns share evenly in two-panel blocks: those are kept.
        XCTAssertEqual(try weights(reduction: 96, outputs: 576).parallelSplit(rows: 49, threads: 2),
                       Split(tasks: 6, columnUnit: block, busiestShare: 0.5))
        // At one thread, one task over all columns.
        XCTAssertEqual(try weights(reduction: 96, outputs: 576).parallelSplit(rows: 49, threads: 1).tasks, 1)
        // A classifier row, 1024 -> 1000: 32 blocks (the last one partial) in 4 tasks of 8 rather than 6 of 5 or 6
        // (17 on one thread).
        XCTAssertEqual(try weights(reduction: 1024, outputs: 1000).parallelSplit(rows: 1, threads: 2),
                       Split(tasks: 4, columnUnit: block, busiestShare: Double(16 * block) / 1000))
        // Many rows: by rows, 14x14 = 196 in 6 even tasks.
        XCTAssertEqual(try weights(reduction: 96, outputs: 96).parallelSplit(rows: 196, threads: 2),
                       Split(tasks: 6, columnUnit: nil, busiestShare: 0.5))
        // Fewer column blocks than threads: by rows.
        XCTAssertEqual(try weights(reduction: 64, outputs: 16).parallelSplit(rows: 40, threads: 2).columnUnit, nil)
    }
}
