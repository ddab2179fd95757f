// ClassificationPipeline: decode threads fill a bounded ring of batch tensors while the caller's thread runs inference.

import Dispatch
import Foundation
import ONNXRun

/// How busy each stage of `ImageClassifier.classify(contentsOf:)` was (`onnxrun --profile` prints it).
public struct PipelineOccupancy: Sendable, Equatable {
    /// From the start of decoding to the last batch handed over.
    public var wallSeconds: Double = 0
    /// Threads reading, decoding and preprocessing at the end of the run.
    public var decodeThreads = 0
    /// Batch tensors in the ring: at most this many batches of model inputs exist at once.
    public var slotCount = 0
    /// Seconds the decode threads spent reading, decoding and preprocessing, summed over the threads.
    public var decodeBusySeconds: Double = 0
    /// Seconds the decode threads waited for a free batch slot (inference was the bottleneck), summed.
    public var decodeWaitSeconds: Double = 0
    /// Seconds in inference (the session's run and top-k).
    public var inferenceBusySeconds: Double = 0
    /// Seconds inference waited for the next batch to be decoded (decoding was the bottleneck).
    public var inferenceWaitSeconds: Double = 0
    /// Seconds in the caller's batch handler (printing, progress).
    public var handlerSeconds: Double = 0

    public init() {}
}

/// The ring shared by the decode threads (producers) and the inference thread (the one consumer).
///
/// Image `i` belongs to batch `i / batchSize` and is written into row `i % batchSize` of slot
/// `batch % slots.count`; a decode thread may start an image only once the batch that last used its slot has been
/// released. Decode threads claim images in order, so the batch inference waits for is always being worked on: no
/// deadlock, and results come out in file order whatever the thread count. All state below is guarded by `condition`
/// except the slots' tensor rows, which each image's claimant alone writes while the slot is not being inferred.
final class ClassificationPipeline: @unchecked Sendable {
    /// One batch tensor of the ring and what the decode threads found for each of its images.
    final class Slot {
        /// `[batchSize, ...]`, written in place through `rows` (its storage is never shared, so never copied).
        let tensor: Tensor
        let rows: UnsafeMutablePointer<Float>
        let elementsPerRow: Int
        /// Per row: the image's timings, or why it has none (nil: not done yet).
        var outcomes: [Result<ImagePreprocessor.Timings, ONNXRunError>?]
        var finished = 0

        init(shape: [Int], elementsPerRow: Int) throws {
            var tensor = Tensor(zeros: .float, shape: shape)
            guard let rows = tensor.withUnsafeMutableBufferPointer(as: Float.self, { $0.baseAddress }) else {
                throw ONNXRunError(.invalidArgument, "empty model input \(shape)")
            }
            self.tensor = tensor
            self.rows = rows
            self.elementsPerRow = elementsPerRow
            outcomes = Array(repeating: nil, count: shape[0])
        }

        /// Copies one image's row over another (distinct rows never overlap).
        func copyRow(_ source: Int, to destination: Int) {
            (rows + destination * elementsPerRow).update(from: rows + source * elementsPerRow, count: elementsPerRow)
        }
    }

    let paths: [String]
    let batchSize: Int
    let elementsPerImage: Int
    let slots: [Slot]
    private let condition = NSCondition()
    private var nextImage = 0
    private var releasedBatches = 0
    private var stopped = false
    private var occupancy = PipelineOccupancy()
    private let workersDone = DispatchGroup()
    private let start = DispatchTime.now().uptimeNanoseconds

    var batchCount: Int { (paths.count + batchSize - 1) / batchSize }

    /// A ring of `slotCount` tensors of shape `batchShape` (`batchSize` rows of `elementsPerImage` floats).
    init(paths: [String], batchShape: [Int], elementsPerImage: Int, slotCount: Int) throws {
        self.paths = paths
        batchSize = batchShape[0]
        self.elementsPerImage = elementsPerImage
        slots = try (0..<slotCount).map { _ in try Slot(shape: batchShape, elementsPerRow: elementsPerImage) }
        occupancy.slotCount = slotCount
    }

    /// Decode threads so that decoding a batch (`preparingSeconds`, on one thread) takes no longer than inferring
    /// it: at least one, at most one less than the cores (the session's threads need them during inference).
    static func decodeThreadCount(preparingSeconds: Double, inferenceSeconds: Double,
                                  cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        let needed = (preparingSeconds / max(inferenceSeconds, 1e-9)).rounded(.up)
        return max(1, min(Int(min(needed, 1024)), cores - 1))
    }

    // MARK: Decode threads

    /// Starts `count` more decode threads, each writing images with `prepare(path, row)` (which returns the image's
    /// timings or throws its error).
    func addDecodeThreads(_ count: Int,
                          prepare: @escaping @Sendable (String, UnsafeMutableBufferPointer<Float>) throws
                              -> ImagePreprocessor.Timings) {
        condition.lock()
        occupancy.decodeThreads += count
        condition.unlock()
        for _ in 0..<count {
            workersDone.enter()
            let thread = Thread { [self] in
                decodeLoop(prepare)
                workersDone.leave()
            }
            thread.name = "onnxrun-decode"
            thread.start()
        }
    }

    private func decodeLoop(_ prepare: (String, UnsafeMutableBufferPointer<Float>) throws
                                -> ImagePreprocessor.Timings) {
        while true {
            condition.lock()
            guard !stopped, nextImage < paths.count else {
                condition.unlock()
                return
            }
            let image = nextImage
            nextImage += 1
            let batch = image / batchSize
            let waitStart = Self.now()
            while batch >= releasedBatches + slots.count && !stopped { condition.wait() }
            occupancy.decodeWaitSeconds += Self.seconds(since: waitStart)
            let stop = stopped
            condition.unlock()
            if stop { return }

            let slot = slots[batch % slots.count]
            let row = image % batchSize
            let busyStart = Self.now()
            let outcome: Result<ImagePreprocessor.Timings, ONNXRunError>
            do {
                outcome = .success(try prepare(paths[image], UnsafeMutableBufferPointer(
                    start: slot.rows + row * elementsPerImage, count: elementsPerImage)))
            } catch let error as ONNXRunError {
                outcome = .failure(error.adding(file: paths[image]))
            } catch {
                outcome = .failure(ONNXRunError(.image, "\(error)", file: paths[image]))
            }
            let busy = Self.seconds(since: busyStart)

            condition.lock()
            slot.outcomes[row] = outcome
            slot.finished += 1
            occupancy.decodeBusySeconds += busy
            condition.broadcast()
            condition.unlock()
        }
    }

    // MARK: The inference thread

    /// Images in `batch` (the last one may be short).
    func imageCount(inBatch batch: Int) -> Int { min(batchSize, paths.count - batch * batchSize) }

    /// Waits until every image of `batch` is written or failed; returns its slot and outcomes (in file order).
    func waitForBatch(_ batch: Int) -> (slot: Slot, outcomes: [Result<ImagePreprocessor.Timings, ONNXRunError>]) {
        let slot = slots[batch % slots.count]
        let count = imageCount(inBatch: batch)
        condition.lock()
        defer { condition.unlock() }
        let waitStart = Self.now()
        while slot.finished < count { condition.wait() }
        occupancy.inferenceWaitSeconds += Self.seconds(since: waitStart)
        // A finished row always has an outcome: a decode thread sets both under the lock.
        let outcomes = slot.outcomes.prefix(count).map {
            $0 ?? .failure(ONNXRunError(.invalidArgument, "no outcome for an image of batch \(batch)"))
        }
        return (slot, outcomes)
    }

    /// Hands `batch`'s slot back to the decode threads (its tensor is no longer needed).
    func release(_ batch: Int) {
        let slot = slots[batch % slots.count]
        condition.lock()
        slot.finished = 0
        for row in slot.outcomes.indices { slot.outcomes[row] = nil }
        releasedBatches += 1
        condition.broadcast()
        condition.unlock()
    }

    func addInference(seconds: Double) { record { $0.inferenceBusySeconds += seconds } }
    func addHandler(seconds: Double) { record { $0.handlerSeconds += seconds } }

    /// Stops the decode threads (after their current image), waits for them, and returns the occupancy.
    func finish() -> PipelineOccupancy {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
        workersDone.wait()
        condition.lock()
        defer { condition.unlock() }
        occupancy.wallSeconds = Self.seconds(since: start)
        return occupancy
    }

    private func record(_ change: (inout PipelineOccupancy) -> Void) {
        condition.lock()
        change(&occupancy)
        condition.unlock()
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    private static func seconds(since start: UInt64) -> Double { Double(now() - start) * 1e-9 }
}
