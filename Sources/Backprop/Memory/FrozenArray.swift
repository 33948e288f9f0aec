/// An immutable array copied into memory with a stable address, so that
/// workers can read plan tables through a raw pointer during a pass
/// (no bounds checks, no reference counting in the hot loop).
final class FrozenArray<Element: Sendable>: @unchecked Sendable {
    let count: Int
    let pointer: UnsafePointer<Element>

    init(_ array: [Element]) {
        count = array.count
        let p = UnsafeMutablePointer<Element>.allocate(capacity: Swift.max(1, array.count))
        _ = UnsafeMutableBufferPointer(start: p, count: array.count).initialize(from: array)
        pointer = UnsafePointer(p)
    }

    deinit {
        UnsafeMutablePointer(mutating: pointer).deinitialize(count: count)
        UnsafeMutablePointer(mutating: pointer).deallocate()
    }

    @inline(__always) subscript(i: Int) -> Element { pointer[i] }
}
