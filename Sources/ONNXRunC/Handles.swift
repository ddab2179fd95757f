// What every C entry point shares: live handles checked by a registry, errors turned into malloc'd messages,
// and C strings that live as long as their owner.

import Foundation
import ONNXRun
import Synchronization

/// The objects behind the handles given to C callers. A handle is looked up here on every call, so a NULL,
/// destroyed or foreign pointer is an error, not a crash; a call holds its object alive, so destroying a handle
/// while calls on it are running frees it when they return.
enum HandleRegistry {
    private static let objects = Mutex<[Int: any AnyObject & Sendable]>([:])

    static func register(_ object: some AnyObject & Sendable) -> OpaquePointer {
        let pointer = Unmanaged.passUnretained(object).toOpaque()
        objects.withLock { $0[Int(bitPattern: pointer)] = object }
        return OpaquePointer(pointer)
    }

    /// The live object of type `Object` behind `handle`; `name` is the argument's name in errors.
    static func object<Object: AnyObject & Sendable>(_ handle: OpaquePointer?, as type: Object.Type,
                                                     name: String) throws -> Object {
        guard let handle else { throw ONNXRunError(.invalidArgument, "\(name) is NULL") }
        guard let object = objects.withLock({ $0[Int(bitPattern: UnsafeRawPointer(handle))] }) as? Object else {
            throw ONNXRunError(.invalidArgument, "\(name) is not a live \(name) (destroyed, or another kind of handle)")
        }
        return object
    }

    /// Forgets `handle`; the object is freed when no call holds it any more. Unknown handles are ignored.
    static func remove<Object: AnyObject & Sendable>(_ handle: OpaquePointer?, as type: Object.Type) {
        guard let handle else { return }
        let key = Int(bitPattern: UnsafeRawPointer(handle))
        let removed = objects.withLock { objects -> (any AnyObject & Sendable)? in
            guard objects[key] is Object else { return nil }
            return objects.removeValue(forKey: key)
        }
        // Released here, outside the lock: a deinit may take time.
        withExtendedLifetime(removed) {}
    }
}

/// The C error convention: `*error` NULL on success, a malloc'd message on failure (when `error` is not NULL).
public typealias ErrorOut = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?

/// Runs `body`; any error it throws becomes `failure` and a message in `*error`.
func reportingErrors<Result>(_ error: ErrorOut, failure: Result, _ body: () throws -> Result) -> Result {
    error?.pointee = nil
    do {
        return try body()
    } catch let thrown {
        error?.pointee = strdup("\(thrown)")
        return failure
    }
}

/// Checks that an out-parameter is not NULL.
func required<Pointee>(_ pointer: UnsafeMutablePointer<Pointee>?, _ name: String) throws -> UnsafeMutablePointer<Pointee> {
    guard let pointer else { throw ONNXRunError(.invalidArgument, "\(name) is NULL") }
    return pointer
}

/// A C string argument as a Swift string.
func string(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
    guard let pointer else { throw ONNXRunError(.invalidArgument, "\(name) is NULL") }
    return String(cString: pointer)
}

/// `thread_count` as session options: 0 means all cores.
func sessionOptions(threadCount: Int32) throws -> SessionOptions {
    guard threadCount >= 0 else {
        throw ONNXRunError(.invalidArgument, "thread_count must be 0 (all cores) or more, got \(threadCount)")
    }
    return SessionOptions(threadCount: threadCount == 0 ? nil : Int(threadCount))
}

/// NUL-terminated copies of strings, valid as long as this object lives.
final class CStrings: @unchecked Sendable {
    // Written once in init, only read afterwards.
    private let pointers: [UnsafeMutablePointer<CChar>]

    init(_ strings: [String]) {
        pointers = strings.map { string in
            string.withCString { source in
                let length = strlen(source) + 1
                let copy = UnsafeMutablePointer<CChar>.allocate(capacity: length)
                copy.initialize(from: source, count: length)
                return copy
            }
        }
    }

    var count: Int { pointers.count }

    subscript(index: Int) -> UnsafePointer<CChar>? {
        pointers.indices.contains(index) ? UnsafePointer(pointers[index]) : nil
    }

    deinit {
        for pointer in pointers { pointer.deallocate() }
    }
}
