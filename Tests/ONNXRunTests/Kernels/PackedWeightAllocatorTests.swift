// The huge-page allocator of packed weights: alignment, zeroed and disjoint buffers, pages and regions given back.

import Foundation
import Synchronization
import XCTest

@testable import ONNXRun

final class PackedWeightAllocatorTests: XCTestCase {
    private let pageSize = PackedWeightAllocator.pageSize

    /// Whether the 4 KiB page at `address` is resident (mincore).
    private func isResident(_ address: UnsafeMutableRawPointer) -> Bool {
        var vector: UInt8 = 0
        XCTAssertEqual(mincore(address, 4096, &vector), 0)
        return vector & 1 != 0
    }

    func testBuffersAreAlignedZeroedDisjointAndShareARegion() {
        let allocator = PackedWeightAllocator(regionByteCount: 2 * pageSize)
        let sizes = [1, 100, 64, 4096, 65, 300_000, 7]
        let buffers = sizes.map { allocator.allocate(byteCount: $0)! }
        XCTAssertEqual(Int(bitPattern: buffers[0].pointer) % pageSize, 0, "a region starts on a huge page")
        for (buffer, size) in zip(buffers, sizes) {
            XCTAssertEqual(Int(bitPattern: buffer.pointer) % PackedWeightAllocator.bufferAlignment, 0)
            XCTAssertGreaterThanOrEqual(buffer.byteCount, size)
            XCTAssertTrue(buffer.region === buffers[0].region, "small buffers share one region")
            let bytes = UnsafeMutableRawBufferPointer(start: buffer.pointer, count: size)
            XCTAssertTrue(bytes.allSatisfy { $0 == 0 })
            bytes.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: size))
        }
        for (buffer, size) in zip(buffers, sizes) {
            XCTAssertTrue(UnsafeRawBufferPointer(start: buffer.pointer, count: size)
                .allSatisfy { $0 == UInt8(truncatingIfNeeded: size) }, "a later buffer overwrote one of \(size) bytes")
        }
        XCTAssertEqual(allocator.mappedByteCount, 2 * pageSize)
        buffers.forEach { $0.release() }
    }

    #if os(Linux)
    func testRegionsAreAdvisedForHugePages() throws {
        let allocator = PackedWeightAllocator(regionByteCount: 2 * pageSize)
        let buffer = allocator.allocate(byteCount: 100_000)!
        defer { buffer.release() }
        let address = UInt(bitPattern: buffer.pointer)
        // Read to the end: /proc files report size 0.
        let data = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/smaps")?.readToEnd())
        let smaps = String(decoding: data, as: UTF8.self)
        var inRegion = false
        var flags: String?
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if let range = fields.first, range.contains("-"), fields.count >= 5 {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inRegion = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inRegion, line.hasPrefix("VmFlags:") {
                flags = String(line)
            }
        }
        let vmFlags = try XCTUnwrap(flags, "no mapping holds the buffer in /proc/self/smaps")
        XCTAssertTrue(vmFlags.split(separator: " ").contains("hg"), "not advised MADV_HUGEPAGE: \(vmFlags)")
    }
    #endif

    func testDeadPagesAndRegionsAreGivenBack() {
        let allocator = PackedWeightAllocator(regionByteCount: 4 * pageSize)
        // Page 0 wholly, then a buffer on page 1 only.
        let first = allocator.allocate(byteCount: pageSize / 2)!
        let second = allocator.allocate(byteCount: pageSize / 2)!
        let third = allocator.allocate(byteCount: 1000)!
        for buffer in [first, second, third] {
            buffer.pointer.initializeMemory(as: UInt8.self, repeating: 1, count: 1000)
        }
        XCTAssertTrue(isResident(first.pointer))
        first.release()
        XCTAssertTrue(isResident(first.pointer), "page 0 still holds a live buffer")
        second.release()
        XCTAssertFalse(isResident(first.pointer), "page 0 holds no live buffer and allocation has moved past it")
        XCTAssertTrue(isResident(third.pointer), "page 1 is where allocation continues")
        XCTAssertEqual(third.pointer.load(as: UInt8.self), 1)

        // A buffer larger than a region gets a region of its own; allocation goes on in the one with room.
        let large = allocator.allocate(byteCount: 5 * pageSize)!
        XCTAssertFalse(large.region === third.region)
        XCTAssertEqual(allocator.mappedByteCount, 4 * pageSize + 5 * pageSize)
        let fourth = allocator.allocate(byteCount: 1000)!
        XCTAssertTrue(fourth.region === third.region)
        [large, third, fourth].forEach { $0.release() }
    }

    func testRegionsAreUnmappedWhenTheirLastBufferDiesAndMappedAgain() {
        let allocator = PackedWeightAllocator(regionByteCount: pageSize)
        do {
            let buffers = (0..<5).map { _ in allocator.allocate(byteCount: 400_000)! }
            XCTAssertEqual(allocator.mappedByteCount, pageSize)
            let next = allocator.allocate(byteCount: 400_000)!
            XCTAssertFalse(next.region === buffers[0].region, "a full region is not reused")
            XCTAssertEqual(allocator.mappedByteCount, 2 * pageSize)
            (buffers + [next]).forEach { $0.release() }
        }
        XCTAssertEqual(allocator.mappedByteCount, 0, "every region unmapped with its last buffer")
        let again = allocator.allocate(byteCount: 10)!
        XCTAssertEqual(allocator.mappedByteCount, pageSize)
        XCTAssertTrue(again.pointer.load(as: UInt8.self) == 0)
        again.release()
    }

    /// A refused reservation (address-space limits) falls back to the buffer's own size, and a refused buffer to
    /// nil, which `AlignedBytes` turns into a heap allocation: never a trap.
    func testRefusedMappingsFallBack() {
        // 1 PiB is past any x86-64 user address space: mmap refuses it.
        let allocator = PackedWeightAllocator(regionByteCount: 1 << 50)
        let buffer = allocator.allocate(byteCount: 1000)
        XCTAssertNotNil(buffer)
        XCTAssertEqual(allocator.mappedByteCount, PackedWeightAllocator.pageSize)
        XCTAssertNil(allocator.allocate(byteCount: 1 << 50))
        buffer?.release()
    }

    func testManyThreadsGetDisjointBuffers() {
        let allocator = PackedWeightAllocator(regionByteCount: 4 * pageSize)
        let threads = 8, perThread = 300
        let collected = Mutex<[(PackedWeightAllocator.Allocation, Int, UInt8)]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var generator = SeededValues(seed: UInt64(thread + 1))
            var mine: [(PackedWeightAllocator.Allocation, Int, UInt8)] = []
            for index in 0..<perThread {
                let size = 1 + Int((generator.next() + 1) * 35_000)
                let buffer = allocator.allocate(byteCount: size)!
                XCTAssertTrue(buffer.pointer.load(as: UInt8.self) == 0 && buffer.pointer.load(
                    fromByteOffset: size - 1, as: UInt8.self) == 0, "a buffer handed out twice")
                let mark = UInt8(truncatingIfNeeded: thread * perThread + index) | 1
                buffer.pointer.initializeMemory(as: UInt8.self, repeating: mark, count: size)
                mine.append((buffer, size, mark))
                // Free every third buffer at once: pages die and regions retire while others allocate.
                if index % 3 == 0, let freed = mine.popLast() { freed.0.release() }
            }
            collected.withLock { $0 += mine }
        }
        do {
            let all = collected.withLock { $0 }
            XCTAssertGreaterThan(allocator.mappedByteCount, 0)
            for (buffer, size, mark) in all {
                XCTAssertTrue(UnsafeRawBufferPointer(start: buffer.pointer, count: size).allSatisfy { $0 == mark },
                              "two threads got overlapping buffers")
            }
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for (index, entry) in all.enumerated() where index % threads == thread { entry.0.release() }
            }
            collected.withLock { $0.removeAll() }
        }
        XCTAssertEqual(allocator.mappedByteCount, 0)
    }
}
