import Foundation

/// A fixed-size, 64-byte aligned, zero-initialised array of elements: the
/// arenas that plans lay buffers out in.
///
/// The pointer never escapes this type except through the scoped accessors
/// that kernels use while an execution runs. Workers write to disjoint
/// regions (the plan guarantees it), which is why the type is
/// `@unchecked Sendable`.
final class AlignedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
    /// The alignment of every arena, in bytes (a cache line).
    static var alignment: Int { 64 }

    let count: Int
    let base: UnsafeMutablePointer<Element>
    /// The NUMA block the memory came from, when a NUMA system placed it.
    private let numa: (system: any NUMASystem, block: NUMABlock)?

    /// Allocates `count` zeroed elements.
    ///
    /// - Throws: ``ExecutionError/outOfMemory(bytes:)`` when the size
    ///   overflows or the system refuses the memory (no trap).
    init(count: Int) throws(ExecutionError) {
        let (bytes, overflow) = Swift.max(1, count).multipliedReportingOverflow(
            by: MemoryLayout<Element>.stride)
        guard !overflow else { throw .outOfMemory(bytes: Int.max) }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, Self.alignment, bytes) == 0, let raw else {
            throw .outOfMemory(bytes: bytes)
        }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        self.count = count
        base = raw.bindMemory(to: Element.self, capacity: Swift.max(1, count))
        numa = nil
    }

    /// Allocates `count` zeroed elements from a NUMA system, placed as asked
    /// (whole pages, so page-aligned and hence 64-byte aligned).
    ///
    /// - Throws: ``ExecutionError/outOfMemory(bytes:)``.
    init(count: Int, system: any NUMASystem, placement: NUMAPlacement) throws(ExecutionError) {
        let (bytes, overflow) = Swift.max(1, count).multipliedReportingOverflow(
            by: MemoryLayout<Element>.stride)
        guard !overflow, bytes <= Int.max - system.pageSize else {
            throw .outOfMemory(bytes: Int.max)
        }
        let block: NUMABlock
        do { block = try system.allocate(byteCount: bytes, placement: placement) } catch {
            throw .outOfMemory(bytes: bytes)
        }
        self.count = count
        base = block.base.bindMemory(to: Element.self, capacity: Swift.max(1, count))
        numa = (system, block)
    }

    deinit {
        if let numa {
            numa.system.free(numa.block)
        } else {
            free(UnsafeMutableRawPointer(base))
        }
    }

    /// The bytes of the buffer, for page queries.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(
            start: base, count: Swift.max(1, count) * MemoryLayout<Element>.stride)
    }

    /// The region `offset..<offset + length`.
    @inline(__always)
    func region(_ offset: Int, _ length: Int) -> UnsafeMutableBufferPointer<Element> {
        UnsafeMutableBufferPointer(start: base + offset, count: length)
    }
}
