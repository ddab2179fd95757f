// Memory for packed weights: buffers laid end to end in 2 MiB-aligned regions advised for transparent huge pages.

import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lays packed-weight buffers end to end in large 2 MiB-aligned anonymous mappings advised `MADV_HUGEPAGE`.
///
/// A network pass reads its weights (14 MB for MobileNetV2) from L3; with 4 KiB pages that is a TLB miss every
/// few cache lines of a B panel. A huge page covers 2 MiB, but only an aligned 2 MiB range of one mapping can
/// become one, and most packed buffers are smaller: so buffers are bump-allocated one after the other in a region
/// (weights are written once while packing, then only read). A region is reserved large (virtual address space);
/// only the pages buffers touch become resident, so a session's weights cost their size rounded up to one page.
/// Each page counts its live buffers: a page all of whose buffers died (bfloat16 conversion replaces the float32
/// packing; another session's weights) is given back to the system once allocation has moved past it, and a
/// region is unmapped when its last buffer dies. Thread-safe.
final class PackedWeightAllocator: @unchecked Sendable {
    /// The allocator the kernels use.
    static let shared = PackedWeightAllocator()

    /// The x86-64 transparent huge page size: regions are aligned to it and pages counted in it.
    static let pageSize = 2 << 20
    /// Every buffer starts on a cache line (and an AVX-512 vector).
    static let bufferAlignment = 64
    /// Smaller buffers stay on the heap: a few 4 KiB pages cost few TLB misses, and kept apart from the large ones
    /// they do not pin pages of float32 GEMM weights that a bfloat16 session converts and drops (most small buffers,
    /// the depthwise weights, stay float32).
    static let minimumByteCount = 64 << 10

    /// A mapping buffers are carved from, unmapped when its last buffer lets go of it.
    final class Region: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let byteCount: Int
        fileprivate let allocator: PackedWeightAllocator
        // Under the allocator's lock:
        /// Bytes handed out (or skipped, once the region is retired): allocation only moves forward.
        fileprivate var usedByteCount = 0
        /// Live buffers overlapping each page.
        fileprivate var liveBuffers: [Int]

        /// nil when the system refuses the mapping (address-space limits).
        fileprivate init?(byteCount: Int, allocator: PackedWeightAllocator) {
            guard let base = Self.mapAligned(byteCount) else { return nil }
            self.base = base
            self.byteCount = byteCount
            self.allocator = allocator
            liveBuffers = Array(repeating: 0, count: byteCount / PackedWeightAllocator.pageSize)
        }

        deinit {
            munmap(base, byteCount)
            allocator.regionDidUnmap(byteCount)
        }

        /// The pages `offset..<offset + size` overlaps.
        fileprivate func pages(_ offset: Int, _ size: Int) -> ClosedRange<Int> {
            offset / PackedWeightAllocator.pageSize...(offset + size - 1) / PackedWeightAllocator.pageSize
        }

        /// Gives back the pages in `pages` that hold no live buffer and that allocation has moved past.
        fileprivate func releaseDeadPages(_ pages: ClosedRange<Int>) {
            let pageSize = PackedWeightAllocator.pageSize
            for page in pages where liveBuffers[page] == 0 && (page + 1) * pageSize <= usedByteCount {
                _ = madvise(base + page * pageSize, pageSize, MADV_DONTNEED)
            }
        }

        /// `byteCount` (a multiple of the page size) of zeroed memory at a page-aligned address, advised for huge
        /// pages: maps one page more than needed and unmaps the misaligned ends. nil if the mapping fails.
        private static func mapAligned(_ byteCount: Int) -> UnsafeMutableRawPointer? {
            let alignment = PackedWeightAllocator.pageSize
            let reserved = byteCount + alignment
            guard let mapped = mmap(nil, reserved, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  mapped != MAP_FAILED
            else { return nil }
            let address = UInt(bitPattern: mapped)
            let head = Int((address + UInt(alignment) - 1) & ~UInt(alignment - 1) - address)
            if head > 0 { munmap(mapped, head) }
            let tail = reserved - head - byteCount
            if tail > 0 { munmap(mapped + head + byteCount, tail) }
            let base = mapped + head
            #if os(Linux)
            // Advice only: without THP (or with it off) the pages stay 4 KiB and everything still works.
            _ = madvise(base, byteCount, MADV_HUGEPAGE)
            #endif
            return base
        }
    }

    /// A buffer in a region: `release()` it once, when it is no longer used.
    struct Allocation: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        /// Keeps the mapping alive while the buffer is.
        let region: Region
        let byteCount: Int

        /// Ends the buffer's life: its pages may be given back, its region unmapped.
        func release() {
            region.allocator.release(self)
        }
    }

    /// Address space a region reserves unless a buffer needs more.
    private let regionByteCount: Int
    private let lock = NSLock()
    /// The region allocation continues in; weak, so that it is unmapped when its buffers are gone.
    private weak var current: Region?
    /// Atomic rather than under `lock`: a region can die while `allocate` holds the lock (the last reference being
    /// the one taken from `current`), and its deinit must not wait for the lock.
    private let mappedBytes = Atomic<Int>(0)

    /// An allocator reserving `regionByteCount` (rounded up to pages) of address space at a time.
    init(regionByteCount: Int = 64 << 20) {
        self.regionByteCount = max(1, (regionByteCount + Self.pageSize - 1) / Self.pageSize) * Self.pageSize
    }

    /// Address space mapped by live regions (tests).
    var mappedByteCount: Int { mappedBytes.load(ordering: .relaxed) }

    /// `byteCount` zeroed bytes aligned to `bufferAlignment`, in a region advised for huge pages; nil when no region
    /// can be mapped (the caller then uses the heap).
    func allocate(byteCount: Int) -> Allocation? {
        let size = (max(byteCount, 1) + Self.bufferAlignment - 1) / Self.bufferAlignment * Self.bufferAlignment
        return lock.withLock {
            let region: Region
            let open = current
            if let open, open.byteCount - open.usedByteCount >= size {
                region = open
            } else {
                let pages = (size + Self.pageSize - 1) / Self.pageSize
                // A smaller reservation when the usual one is refused (a `ulimit -v`).
                guard let mapped = Region(byteCount: max(regionByteCount, pages * Self.pageSize), allocator: self)
                                   ?? Region(byteCount: pages * Self.pageSize, allocator: self)
                else { return nil }
                region = mapped
                mappedBytes.add(region.byteCount, ordering: .relaxed)
                // Allocation goes on where more room is left (a large buffer's own region may have none).
                let staysOpen = open.map { $0.byteCount - $0.usedByteCount >= region.byteCount - size } ?? false
                if !staysOpen {
                    if let open { retire(open) }
                    current = region
                }
            }
            let offset = region.usedByteCount
            region.usedByteCount += size
            for page in region.pages(offset, size) { region.liveBuffers[page] += 1 }
            if region !== current { retire(region) }
            return Allocation(pointer: region.base + offset, region: region, byteCount: size)
        }
    }

    /// Ends allocation in `region` (called with the lock held): its last page may go once its buffers do.
    private func retire(_ region: Region) {
        let lastPage = region.pages(max(region.usedByteCount - 1, 0), 1)
        region.usedByteCount = region.byteCount
        region.releaseDeadPages(lastPage)
    }

    fileprivate func release(_ allocation: Allocation) {
        let region = allocation.region
        lock.withLock {
            let pages = region.pages(allocation.pointer - region.base, allocation.byteCount)
            for page in pages { region.liveBuffers[page] -= 1 }
            region.releaseDeadPages(pages)
        }
    }

    fileprivate func regionDidUnmap(_ byteCount: Int) {
        mappedBytes.subtract(byteCount, ordering: .relaxed)
    }
}
