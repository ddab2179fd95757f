// The one policy for splitting a kernel call over the thread pool: how much work a task must hold to be worth it.

enum Parallelism {
    /// The least work, in multiply-accumulates, that pays for a parallel task (a region costs about a microsecond
    /// to start and ends with a wait for the slowest thread). Dense MACs run at ~100 GFLOP/s from cache, depthwise
    /// and matrix-vector MACs are memory-bound and several times slower each, so they need fewer per task.
    enum Granularity: Int {
        /// GEMM-shaped work at full FMA speed: 1x1 and general convolutions, expansion bands.
        case dense = 131_072
        /// One row per image times a large weight matrix (the classifier): bound by reading the weights.
        case matrixVector = 65_536
        /// Depthwise convolutions: a few MACs per loaded value.
        case depthwise = 32_768
        /// Elementwise kernels, counted in output elements: memory-bound, a fraction of a nanosecond each.
        case elementwise = 16_384
    }

    /// What starting a parallel region and waiting for its slowest thread costs, in dense multiply-accumulates
    /// (about a microsecond at the ~50 G MACs/s of one core): for choosing between schedules with more or fewer
    /// regions.
    static let regionCost = 50_000

    /// How many tasks to split `work` MACs over `units` (rows, pixels, panels): a few per thread to balance uneven
    /// progress on shared cores, none smaller than the granularity, never more than the units; and of those
    /// counts the most that load the busiest thread no more than any fewer would (`balancedTaskCount`).
    static func taskCount(work: Int, granularity: Granularity, threads: Int, units: Int) -> Int {
        guard threads > 1, units > 1 else { return 1 }
        let most = max(1, min(threads * 3, work / granularity.rawValue, units))
        return balancedTaskCount(units: units, most: most, threads: threads)
    }

    /// The most tasks, up to `most`, whose busiest thread computes no more units than with any fewer tasks (tried:
    /// `most` and the multiples of `threads` below it, which can split evenly).
    ///
    /// Few units split a few per thread load the threads unevenly: the 14 rows of a 14x14 image in 6 tasks are
    /// 2, 2, 3, 2, 2, 3 rows, and two threads taking them in turn compute 8 and 6 rows (the step takes 8/7 of
    /// its even share), while 2 tasks of 7 rows are even. Fewer tasks are chosen only when they are more even.
    static func balancedTaskCount(units: Int, most: Int, threads: Int) -> Int {
        guard threads > 1, most > 1 else { return max(1, most) }
        let even = (units + threads - 1) / threads
        var best = most
        var bestLoad = busiestThreadUnits(units: units, tasks: most, threads: threads)
        var tasks = (most - 1) / threads * threads
        while bestLoad > even, tasks >= threads {
            let load = busiestThreadUnits(units: units, tasks: tasks, threads: threads)
            if load < bestLoad {
                (best, bestLoad) = (tasks, load)
            }
            tasks -= threads
        }
        return best
    }

    /// Units the busiest of `threads` equally fast threads computes when `units` are split into `tasks` parts
    /// (`split`) that the pool hands out in order, each to the thread that is free first. Asked on every run of a
    /// split GEMM or depthwise: the loads live on the stack, not the heap.
    static func busiestThreadUnits(units: Int, tasks: Int, threads: Int) -> Int {
        guard tasks > 0, threads > 0 else { return units }
        guard units % tasks != 0 || tasks % threads != 0 else { return units / threads }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: min(threads, tasks)) { loads in
            loads.initialize(repeating: 0)
            for task in 0..<tasks {
                var freest = 0
                for thread in loads.indices where loads[thread] < loads[freest] { freest = thread }
                loads[freest] += split(units, task, tasks).count
            }
            return loads.max() ?? 0
        }
    }

    /// The `task`-th of `tasks` near-equal parts of `0..<count`.
    static func split(_ count: Int, _ task: Int, _ tasks: Int) -> Range<Int> {
        (count * task / tasks)..<(count * (task + 1) / tasks)
    }
}
