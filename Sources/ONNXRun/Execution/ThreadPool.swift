// A persistent thread pool for the kernels' parallel loops: workers spin briefly for the next region, then sleep.

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Splits loops over a fixed set of threads, the caller included.
///
/// Why not `DispatchQueue.concurrentPerform`: it costs ~7 µs per region here, and an inference runs ~100 regions.
/// Why not pure spinning: on shared cores a spinning worker steals time from the thread doing the work (ms per
/// region). So workers spin for a bounded time after each region (a millisecond: the next region of a run starts
/// within tens of microseconds, and a sleeping worker costs a wake-up per region), then block on a condition
/// variable.
///
/// One region runs at a time; a region started while another is running (a second session run on another thread)
/// runs on its caller's thread alone, so concurrent runs are safe and never wait for each other.
final class ThreadPool: @unchecked Sendable {
    /// Threads that execute a region, the calling thread included.
    let threadCount: Int

    private let shared: SharedState
    /// Whether a region is running. An atomic flag rather than a `Mutex`: trying costs one compare-and-swap, and
    /// ThreadSanitizer sees its ordering (it cannot see the futex a contended `Mutex` waits on, and reports races).
    private let regionBusy = Atomic<Bool>(false)

    /// A pool of `threadCount` threads in all (the caller plus `threadCount - 1` workers).
    init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        shared = SharedState()
        for _ in 1..<self.threadCount {
            let state = shared
            let thread = Thread { state.workerLoop() }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit {
        shared.shutDown()
    }

    /// Runs `body(0..<taskCount)` spread over the pool; returns when every task is done.
    /// Tasks are handed out one at a time from a shared counter, so uneven tasks balance themselves.
    func parallelFor(_ taskCount: Int, _ body: (Int) -> Void) {
        guard taskCount > 0 else { return }
        guard threadCount > 1, taskCount > 1, tryBeginRegion() else {
            for task in 0..<taskCount { body(task) }
            return
        }
        withoutActuallyEscaping(body) { escapableBody in
            shared.run(taskCount: taskCount, workers: threadCount - 1, body: escapableBody)
        }
        endRegion()
    }

    private func tryBeginRegion() -> Bool {
        regionBusy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    private func endRegion() {
        regionBusy.store(false, ordering: .releasing)
    }
}

/// The state workers and the caller share; separate from `ThreadPool` so workers don't keep the pool alive.
///
/// A region is announced by bumping the generation in `control`. A worker *joins* it with a compare-and-swap that
/// only succeeds while the region is open; the caller closes the region once every task has been claimed and
/// waits only for the workers that joined. A worker the OS has not scheduled yet therefore never delays a region
/// (it finds the region closed and goes back to waiting), which matters on shared, noisy cores.
private final class SharedState: @unchecked Sendable {
    /// How long a worker polls for the next region before it sleeps: a millisecond, longer than any serial step
    /// between two regions of a small model's run (tens of microseconds). Measured at 2 threads (2-core VM): the
    /// former 20,000 polls (a few microseconds) put workers to sleep between steps, and each region then paid a
    /// futex wake-up and a late worker, which made ShuffleNetV2 x0.5 slower than at 1 thread (1.6 -> 1.05 ms).
    private static let spinNanoseconds: UInt64 = 1_000_000
    /// Polls between two reads of the clock.
    private static let pollsPerClockRead = 64
    // `control` layout: generation << 20 | closed bit (1 << 19) | joined workers (low 19 bits).
    private static let generationShift = 20
    private static let closedBit = 1 << 19
    private static let joinedMask = (1 << 19) - 1

    private let control = Atomic<Int>(0)
    private let nextTask = Atomic<Int>(0)
    private let finishedWorkers = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    // Written by the caller before `control` announces the region, read by workers after joining it.
    private var taskCount = 0
    private var body: ((Int) -> Void)?

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    func run(taskCount: Int, workers: Int, body: @escaping (Int) -> Void) {
        self.taskCount = taskCount
        self.body = body
        nextTask.store(0, ordering: .relaxed)
        finishedWorkers.store(0, ordering: .relaxed)
        let generation = (control.load(ordering: .relaxed) >> Self.generationShift) + 1
        control.store(generation << Self.generationShift, ordering: .sequentiallyConsistent)
        wakeSleepers()
        runTasks(body)
        let joined = control.bitwiseOr(Self.closedBit, ordering: .sequentiallyConsistent).oldValue & Self.joinedMask
        // The joined workers are running their last task; this wait is as long as that task.
        while finishedWorkers.load(ordering: .acquiring) < joined {}
        self.body = nil
    }

    func shutDown() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        let generation = (control.load(ordering: .relaxed) >> Self.generationShift) + 1
        control.store(generation << Self.generationShift | Self.closedBit, ordering: .sequentiallyConsistent)
        wakeSleepers(always: true)
    }

    private func wakeSleepers(always: Bool = false) {
        guard always || sleepers.load(ordering: .sequentiallyConsistent) > 0 else { return }
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    func workerLoop() {
        var seenGeneration = control.load(ordering: .acquiring) >> Self.generationShift
        while true {
            var state = control.load(ordering: .acquiring)
            let spinEnd = Self.monotonicNanoseconds() + Self.spinNanoseconds
            spinning: while state >> Self.generationShift == seenGeneration {
                for _ in 0..<Self.pollsPerClockRead {
                    state = control.load(ordering: .acquiring)
                    if state >> Self.generationShift != seenGeneration { break spinning }
                }
                if Self.monotonicNanoseconds() >= spinEnd { break }
            }
            if state >> Self.generationShift == seenGeneration {
                pthread_mutex_lock(&mutex)
                sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                while control.load(ordering: .sequentiallyConsistent) >> Self.generationShift == seenGeneration {
                    pthread_cond_wait(&condition, &mutex)
                }
                sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(&mutex)
                state = control.load(ordering: .acquiring)
            }
            if stopping.load(ordering: .acquiring) { return }
            seenGeneration = state >> Self.generationShift
            if join(generation: seenGeneration) {
                if let body { runTasks(body) }
                finishedWorkers.wrappingAdd(1, ordering: .releasing)
            }
        }
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Counts this worker into the region of `generation` if that region is still open.
    private func join(generation: Int) -> Bool {
        var state = control.load(ordering: .acquiring)
        while state >> Self.generationShift == generation && state & Self.closedBit == 0 {
            let (exchanged, original) = control.compareExchange(
                expected: state, desired: state + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            state = original
        }
        return false
    }

    private func runTasks(_ body: (Int) -> Void) {
        while true {
            let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            guard task < taskCount else { return }
            body(task)
        }
    }
}
