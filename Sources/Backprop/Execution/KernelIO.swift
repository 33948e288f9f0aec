/// What a ranged kernel reads and writes for one node: pointers into the
/// execution's arenas, valid for the duration of one pass.
struct KernelIO<T: TensorElement> {
    /// The value arena.
    let values: UnsafeMutablePointer<T>
    /// The value offsets of the node's parents, in argument order.
    let parentOffsets: UnsafePointer<Int>
    let parentCount: Int
    /// The node's own value offset.
    let outOffset: Int
    /// Per-node scratch that survives from forward to backward (max's tie counts).
    let aux: UnsafeMutablePointer<T>?

    /// Parent k's value.
    @inline(__always) func x(_ k: Int) -> UnsafePointer<T> {
        UnsafePointer(values + parentOffsets[k])
    }
    /// The node's value.
    @inline(__always) var y: UnsafeMutablePointer<T> { values + outOffset }
}

/// Where a VJP chunk writes: its destination (a parent's gradient or a
/// partial buffer), whether it adds to what is there, and the cotangent g.
struct VJPTarget<T: TensorElement> {
    let g: UnsafePointer<T>
    let dest: UnsafeMutablePointer<T>
    let accumulate: Bool

    @inline(__always) func store(_ i: Int, _ v: T) {
        if accumulate { dest[i] += v } else { dest[i] = v }
    }

    /// Stores `value(e)` for every `e` in `r`, with the accumulate branch
    /// taken once outside the loop, so the two loops are plain streams the
    /// compiler vectorises (a branch per element kept S3's binary VJPs
    /// scalar: 76% of its profile).
    @inline(__always) func storeEach(_ r: Range<Int>, _ value: (Int) -> T) {
        if accumulate {
            for e in r { dest[e] += value(e) }
        } else {
            for e in r { dest[e] = value(e) }
        }
    }

    /// Stores `value(g[e], e)` for every `e` in `r`, as ``storeEach(_:_:)``;
    /// when the destination is g itself (a gradient computed in place,
    /// Note [In-place gradients]) the loop reads and writes through `dest`
    /// alone, so that it still vectorises (two pointers to one array fail
    /// the vectoriser's overlap check at run time).
    @inline(__always) func storeEach(fromG r: Range<Int>, _ value: (T, Int) -> T) {
        if !accumulate && UnsafePointer(dest) == g {
            for e in r { dest[e] = value(dest[e], e) }
        } else {
            storeEach(r) { value(g[$0], $0) }
        }
    }
}

/// A kernel's complaint about the values it was given; the execution adds
/// the node's name to make an ``ExecutionError``.
enum KernelFailure: Error {
    case invalidLabel(index: Int, value: Double, classes: Int)
    case custom(ExecutionError)
}
