// The C API's image classifier (onnxrun.h): an ImageClassifier behind a handle, predictions with C labels.

import CONNXRunHeader
import Foundation
import ONNXRun
import ONNXRunVision
import Synchronization

/// What an `onnxrun_classifier *` points to.
final class ClassifierHandle: Sendable {
    let classifier: ImageClassifier
    /// C copies of the labels handed out so far, by class index; they live as long as the classifier.
    private let labels = Mutex<[Int: CStrings]>([:])

    init(classifier: ImageClassifier) {
        self.classifier = classifier
    }

    static func from(_ handle: OpaquePointer?) throws -> ClassifierHandle {
        try HandleRegistry.object(handle, as: ClassifierHandle.self, name: "classifier")
    }

    /// Writes `result`'s predictions to C.
    func write(_ result: ImageClassification, to predictions: UnsafeMutablePointer<onnxrun_prediction>,
               count: UnsafeMutablePointer<Int>) {
        let labelPointers = labels.withLock { cache in
            result.top.map { prediction in
                if let copy = cache[prediction.index] { return copy[0] }
                let copy = CStrings([prediction.label])
                cache[prediction.index] = copy
                return copy[0]
            }
        }
        for (offset, (prediction, label)) in zip(result.top, labelPointers).enumerated() {
            predictions[offset] = onnxrun_prediction(index: Int64(prediction.index), probability: prediction.score,
                                                     label: label)
        }
        count.pointee = result.top.count
    }
}

@_cdecl("onnxrun_classifier_create")
public func onnxrunClassifierCreate(_ modelPath: UnsafePointer<CChar>?, _ labelsPath: UnsafePointer<CChar>?,
                                    _ topK: Int, _ threadCount: Int32, _ error: ErrorOut) -> OpaquePointer? {
    reportingErrors(error, failure: nil) {
        let path = try string(modelPath, "model_path")
        guard topK >= 1 else { throw ONNXRunError(.invalidArgument, "top_k must be at least 1, got \(topK)") }
        let labels = try labelsPath.map { try ClassLabels.load(contentsOf: String(cString: $0)) }
        let classifier = try ImageClassifier(contentsOf: path, sessionOptions: sessionOptions(threadCount: threadCount),
                                             options: ImageClassifier.Options(labels: labels, top: topK))
        return HandleRegistry.register(ClassifierHandle(classifier: classifier))
    }
}

@_cdecl("onnxrun_classifier_destroy")
public func onnxrunClassifierDestroy(_ classifier: OpaquePointer?) {
    HandleRegistry.remove(classifier, as: ClassifierHandle.self)
}

@_cdecl("onnxrun_classifier_classify_file")
public func onnxrunClassifierClassifyFile(_ classifier: OpaquePointer?, _ imagePath: UnsafePointer<CChar>?,
                                          _ predictions: UnsafeMutablePointer<onnxrun_prediction>?,
                                          _ count: UnsafeMutablePointer<Int>?, _ error: ErrorOut) -> Int32 {
    reportingErrors(error, failure: 1) {
        let handle = try ClassifierHandle.from(classifier)
        let path = try string(imagePath, "image_path")
        let predictions = try required(predictions, "predictions")
        let count = try required(count, "count")
        handle.write(try handle.classifier.classify(imageAt: path), to: predictions, count: count)
        return 0
    }
}

@_cdecl("onnxrun_classifier_classify_bytes")
public func onnxrunClassifierClassifyBytes(_ classifier: OpaquePointer?, _ bytes: UnsafeRawPointer?, _ byteCount: Int,
                                           _ predictions: UnsafeMutablePointer<onnxrun_prediction>?,
                                           _ count: UnsafeMutablePointer<Int>?, _ error: ErrorOut) -> Int32 {
    reportingErrors(error, failure: 1) {
        let handle = try ClassifierHandle.from(classifier)
        guard let bytes else { throw ONNXRunError(.invalidArgument, "bytes is NULL") }
        let limit = handle.classifier.options.decodingLimits.maxFileBytes
        guard (0...limit).contains(byteCount) else {
            throw ONNXRunError(.invalidArgument, "byte_count \(byteCount) is outside 0...\(limit)")
        }
        let predictions = try required(predictions, "predictions")
        let count = try required(count, "count")
        let encoded = Array(UnsafeRawBufferPointer(start: bytes, count: byteCount))
        handle.write(try handle.classifier.classify(imageBytes: encoded), to: predictions, count: count)
        return 0
    }
}
