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
    /// progress on shared cores, none smaller than the granularity, never more than the units.
    static func taskCount(work: Int, granularity: Granularity, threads: Int, units: Int) -> Int {
        guard threads > 1, units > 1 else { return 1 }
        return max(1, min(threads * 3, work / granularity.rawValue, units))
    }

    /// The `task`-th of `tasks` near-equal parts of `0..<count`.
    static func split(_ count: Int, _ task: Int, _ tasks: Int) -> Range<Int> {
        (count * task / tasks)..<(count * (task + 1) / tasks)
    }
}
