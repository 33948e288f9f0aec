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
    }

    deinit { free(UnsafeMutableRawPointer(base)) }

    /// The region `offset..<offset + length`.
    @inline(__always)
    func region(_ offset: Int, _ length: Int) -> UnsafeMutableBufferPointer<Element> {
        UnsafeMutableBufferPointer(start: base + offset, count: length)
    }
}
