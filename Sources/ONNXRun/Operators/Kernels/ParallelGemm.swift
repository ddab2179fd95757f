// One packed GEMM split over the thread pool: by rows when every thread gets several full tiles, else by columns.

extension PackedMatrixWeights {
    /// Rows per thread from which threads take rows (each reads all of B, from cache after the first); with fewer
    /// (a classifier, the 1x1 convolutions of 7x7 images), row tasks would run short, under-filled tiles and every
    /// one of them would read all of B, so threads take blocks of columns instead and each reads only its part of B.
    static let rowsPerThreadToSplitByRow = 48

    /// Columns per column task are a multiple of this: the widest micro-kernel tile (two packed panels).
    static let splitColumnBlock = 2 * columnBlock

    /// How `run(...rows:pool:)` splits `rows` over `threads` threads: how many tasks, and whether by column blocks.
    func parallelSplit(rows: Int, threads: Int) -> (tasks: Int, byColumns: Bool) {
        // MACs, saturating: only compared with the granularity.
        let (product, overflow) = rows.multipliedReportingOverflow(by: reductionCount * outputCount)
        let work = overflow ? Int.max : product
        let columnBlocks = (outputCount + Self.splitColumnBlock - 1) / Self.splitColumnBlock
        if rows >= threads * Self.rowsPerThreadToSplitByRow || columnBlocks < threads {
            return (Parallelism.taskCount(work: work, granularity: .dense, threads: threads, units: rows), false)
        }
        // A row or three per image (a classifier) is bound by reading B: less work per task pays.
        let tasks = Parallelism.taskCount(work: work, granularity: rows <= 3 ? .matrixVector : .dense,
                                          threads: threads, units: columnBlocks)
        return (tasks, true)
    }

    /// Computes output rows `0..<rows` (see `run(input:...rows:)` for the buffers), split over `pool`'s threads.
    func run(input: UnsafePointer<Float>, inputRowStride: Int, output: UnsafeMutablePointer<Float>,
             outputRowStride: Int, residual: UnsafePointer<Float>? = nil, residualRowStride: Int = 0,
             activation: Activation = .none, rows: Int, pool: ThreadPool) {
        let (tasks, byColumns) = parallelSplit(rows: rows, threads: pool.threadCount)
        guard byColumns else {
            pool.parallelFor(tasks) { task in
                run(input: input, inputRowStride: inputRowStride, output: output, outputRowStride: outputRowStride,
                    residual: residual, residualRowStride: residualRowStride, activation: activation,
                    rows: Parallelism.split(rows, task, tasks))
            }
            return
        }
        let columnBlocks = (outputCount + Self.splitColumnBlock - 1) / Self.splitColumnBlock
        pool.parallelFor(tasks) { task in
            let blocks = Parallelism.split(columnBlocks, task, tasks)
            let columns = (blocks.lowerBound * Self.splitColumnBlock)..<min(outputCount,
                                                                            blocks.upperBound * Self.splitColumnBlock)
            guard !columns.isEmpty else { return }
            run(input: input, inputRowStride: inputRowStride, output: output, outputRowStride: outputRowStride,
                residual: residual, residualRowStride: residualRowStride, activation: activation, rows: 0..<rows,
                columns: columns)
        }
    }
}
