// One packed GEMM split over the thread pool: by rows when every thread gets several full tiles, else by columns.

extension PackedMatrixWeights {
    /// Rows per thread from which threads take rows (each reads all of B, from cache after the first); with fewer
    /// (a classifier, the 1x1 convolutions of 7x7 images), row tasks would run short, under-filled tiles and every
    /// one of them would read all of B, so threads take blocks of columns instead and each reads only its part of B.
    static let rowsPerThreadToSplitByRow = 48

    /// Columns per column task are a multiple of this: the widest micro-kernel tile (two packed panels), or one
    /// panel (`columnBlock`) when two-panel blocks cannot be shared evenly (`parallelSplit`).
    static let splitColumnBlock = 2 * columnBlock

    /// How `run(...rows:pool:)` splits a GEMM: `tasks` parts of the rows, or, when `columnUnit` is set, of the
    /// columns in blocks of `columnUnit`.
    struct ParallelSplit: Equatable {
        var tasks: Int
        /// Columns per block of a split by columns (`splitColumnBlock` or `columnBlock`); nil: split by rows.
        var columnUnit: Int?
        /// The part of the GEMM the busiest thread computes (`Parallelism.busiestThreadUnits`): 1 / threads when
        /// the split is even.
        var busiestShare: Double
    }

    /// How `run(...rows:pool:)` splits `rows` over `threads` threads. By columns, blocks of two panels (the widest
    /// tile) unless they cannot be shared evenly and single panels can: the 96 columns of MobileNetV3-Small's 7x7
    /// projections are 3 blocks, 2 of them on one of two threads; as 6 panels each thread computes 3 (a two- and a
    /// one-panel tile, as fast per column).
    func parallelSplit(rows: Int, threads: Int) -> ParallelSplit {
        // MACs, saturating: only compared with the granularity.
        let (product, overflow) = rows.multipliedReportingOverflow(by: reductionCount * outputCount)
        let work = overflow ? Int.max : product
        let columnBlocks = (outputCount + Self.splitColumnBlock - 1) / Self.splitColumnBlock
        if rows >= threads * Self.rowsPerThreadToSplitByRow || columnBlocks < threads {
            let tasks = Parallelism.taskCount(work: work, granularity: .dense, threads: threads, units: rows)
            let busiestRows = Parallelism.busiestThreadUnits(units: rows, tasks: tasks, threads: threads)
            return ParallelSplit(tasks: tasks, columnUnit: nil,
                                 busiestShare: Double(busiestRows) / Double(max(1, rows)))
        }
        // A row or three per image (a classifier) is bound by reading B: less work per task pays.
        let granularity: Parallelism.Granularity = rows <= 3 ? .matrixVector : .dense
        var best = ParallelSplit(tasks: 1, columnUnit: nil, busiestShare: 1)
        var bestColumns = Int.max
        for unit in [Self.splitColumnBlock, Self.columnBlock] {
            let units = (outputCount + unit - 1) / unit
            let tasks = Parallelism.taskCount(work: work, granularity: granularity, threads: threads, units: units)
            let columns = Parallelism.busiestThreadUnits(units: units, tasks: tasks, threads: threads) * unit
            if columns < bestColumns {
                let share = Double(min(columns, outputCount)) / Double(outputCount)
                (best, bestColumns) = (ParallelSplit(tasks: tasks, columnUnit: unit, busiestShare: share), columns)
            }
        }
        return best
    }

    /// Computes output rows `0..<rows` (see `run(input:...rows:)` for the buffers), split over `pool`'s threads.
    func run(input: UnsafePointer<Float>, inputRowStride: Int, output: UnsafeMutablePointer<Float>,
             outputRowStride: Int, residual: UnsafePointer<Float>? = nil, residualRowStride: Int = 0,
             activation: Activation = .none, rows: Int, pool: ThreadPool) {
        let split = parallelSplit(rows: rows, threads: pool.threadCount)
        let tasks = split.tasks
        guard let unit = split.columnUnit else {
            pool.parallelFor(tasks) { task in
                run(input: input, inputRowStride: inputRowStride, output: output, outputRowStride: outputRowStride,
                    residual: residual, residualRowStride: residualRowStride, activation: activation,
                    rows: Parallelism.split(rows, task, tasks))
            }
            return
        }
        let columnUnits = (outputCount + unit - 1) / unit
        pool.parallelFor(tasks) { task in
            let units = Parallelism.split(columnUnits, task, tasks)
            let columns = (units.lowerBound * unit)..<min(outputCount, units.upperBound * unit)
            guard !columns.isEmpty else { return }
            run(input: input, inputRowStride: inputRowStride, output: output, outputRowStride: outputRowStride,
                residual: residual, residualRowStride: residualRowStride, activation: activation, rows: 0..<rows,
                columns: columns)
        }
    }
}
