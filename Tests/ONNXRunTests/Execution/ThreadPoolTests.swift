// The thread pool runs every task exactly once, from any number of callers at once.

import Foundation
import Synchronization
import XCTest

@testable import ONNXRun

final class ThreadPoolTests: XCTestCase {
    func testEveryTaskRunsExactlyOnce() {
        let pool = ThreadPool(threadCount: 3)
        for taskCount in [1, 2, 7, 100, 1000] {
            let counts = Mutex([Int](repeating: 0, count: taskCount))
            pool.parallelFor(taskCount) { task in counts.withLock { $0[task] += 1 } }
            XCTAssertEqual(counts.withLock { $0 }, Array(repeating: 1, count: taskCount))
        }
    }

    func testManyRegionsInARowAfterIdling() {
        let pool = ThreadPool(threadCount: 2)
        let total = Atomic<Int>(0)
        for round in 0..<2000 {
            if round == 1000 { usleep(20_000) }  // let the workers fall asleep, then wake them
            pool.parallelFor(4) { task in total.wrappingAdd(task, ordering: .relaxed) }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 2000 * 6)
    }

    func testConcurrentCallersDoNotInterfere() {
        let pool = ThreadPool(threadCount: 2)
        let total = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<200 {
                pool.parallelFor(8) { _ in total.wrappingAdd(1, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 4 * 200 * 8)
    }
}
