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

    init(count: Int) {
        self.count = count
        let bytes = Swift.max(1, count) * MemoryLayout<Element>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        base = raw.bindMemory(to: Element.self, capacity: Swift.max(1, count))
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

    /// The region `offset..<offset + length`.
    @inline(__always)
    func region(_ offset: Int, _ length: Int) -> UnsafeMutableBufferPointer<Element> {
        UnsafeMutableBufferPointer(start: base + offset, count: length)
    }
}
