// Reading whole files for the loader: mapped read-only (no copy), with errors that name the file.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only; unmapped on `close()` or deinit. Mapping avoids holding a second copy of the
/// model in memory while protobuf-c unpacks it: the pages are dropped as soon as the file is unmapped.
final class MappedFile {
    let path: String
    private(set) var bytes: UnsafeRawBufferPointer

    /// Opens and maps `path`. Empty files, directories and unreadable files throw `.io` / `.malformedModel`.
    init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ONNXRunError(.io, "cannot open: \(String(cString: strerror(errno)))", file: path)
        }
        defer { _ = Glibc.close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ONNXRunError(.io, "cannot stat: \(String(cString: strerror(errno)))", file: path)
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw ONNXRunError(.io, "not a regular file", file: path)
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            throw ONNXRunError(.malformedModel, "the file is empty", file: path)
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw ONNXRunError(.io, "cannot map \(size) bytes: \(String(cString: strerror(errno)))", file: path)
        }
        // The whole file is read once, front to back, by the parser.
        _ = madvise(address, size, MADV_SEQUENTIAL)
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Drops the resident pages wholly inside `range` (bytes already consumed); reading them again would simply
    /// fault them back in from the file.
    func release(_ range: Range<Int>) {
        guard let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard end > start, end <= bytes.count else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    func close() {
        if let base = bytes.baseAddress {
            _ = munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
        bytes = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    deinit { close() }
}

/// The folder holding `path` ("." for a bare file name), where external data and sibling files are looked up.
func directoryOf(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let directory = String(path[..<slash])
    return directory.isEmpty ? "/" : directory
}
