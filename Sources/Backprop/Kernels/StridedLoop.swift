// Strided iteration over tensors of rank ≤ 4 without allocating: shapes are
// left-padded to rank 4 and held in SIMD4<Int>, so a plan stores every
// geometry inline and kernels walk ranges of flat output indices with an
// odometer whose innermost axis is a tight loop.

/// Dimensions left-padded to rank 4 (leading extents 1).
@usableFromInline
struct Dims4: Sendable, Equatable {
    @usableFromInline var extents: SIMD4<Int>

    init(_ shape: Shape) {
        var e = SIMD4<Int>(repeating: 1)
        let pad = 4 - shape.rank
        for axis in 0..<shape.rank { e[axis + pad] = shape[axis] }
        extents = e
    }

    init(extents: SIMD4<Int>) { self.extents = extents }

    /// Row-major strides of a contiguous tensor of these dimensions.
    var strides: SIMD4<Int> {
        SIMD4(extents[1] * extents[2] * extents[3], extents[2] * extents[3], extents[3], 1)
    }

    var count: Int { extents[0] * extents[1] * extents[2] * extents[3] }

    /// The multi-index of a flat row-major position.
    @inline(__always)
    func index(of flat: Int) -> SIMD4<Int> {
        var rest = flat
        var idx = SIMD4<Int>(repeating: 0)
        idx[3] = rest % extents[3]
        rest /= extents[3]
        idx[2] = rest % extents[2]
        rest /= extents[2]
        idx[1] = rest % extents[1]
        idx[0] = rest / extents[1]
        return idx
    }

    /// Moves the multi-index `idx` forward `run` positions along the
    /// innermost axis — a run that ends at or before the end of its row —
    /// carrying into the outer axes in row-major order.
    @inline(__always)
    func advance(_ idx: inout SIMD4<Int>, by run: Int) {
        idx[3] += run
        guard idx[3] == extents[3] else { return }
        idx[3] = 0
        idx[2] += 1
        guard idx[2] == extents[2] else { return }
        idx[2] = 0
        idx[1] += 1
        guard idx[1] == extents[1] else { return }
        idx[1] = 0
        idx[0] += 1
    }
}

/// Strides of a tensor of shape `source` read as if broadcast to `target`
/// (both padded to rank 4): 0 along axes where the source has extent 1.
func broadcastStrides4(_ source: Shape, to target: Shape) -> SIMD4<Int> {
    precondition(source.rank <= target.rank)
    let d = Dims4(source)
    var s = d.strides
    for axis in 0..<4 where d.extents[axis] == 1 { s[axis] = 0 }
    return s
}

@inline(__always)
func dot(_ a: SIMD4<Int>, _ b: SIMD4<Int>) -> Int { (a &* b).wrappedSum() }

/// Calls `body(k, offsetA, offsetB)` for every flat position k in `range` of
/// a tensor with dimensions `dims`, where the offsets are Σ index·strides.
/// Positions are visited in increasing order.
@inline(__always)
func stridedLoop(
    _ dims: Dims4, _ range: Range<Int>, _ sa: SIMD4<Int>, _ sb: SIMD4<Int>,
    _ body: (Int, Int, Int) -> Void
) {
    stridedRuns(dims, range, sa, sb) { k, oa, ob, run in
        for t in 0..<run { body(k + t, oa + t * sa[3], ob + t * sb[3]) }
    }
}

/// Calls `body(k, offsetA, offsetB, count)` for each run of `range`: the
/// positions k..<k + count of a tensor with dimensions `dims` that lie along
/// its innermost axis, offsets as in ``stridedLoop(_:_:_:_:_:)`` at k (they
/// advance by `sa[3]` and `sb[3]` along the run). Runs come in increasing
/// order; the body can pick a loop for the inner strides once per run.
@inline(__always)
func stridedRuns(
    _ dims: Dims4, _ range: Range<Int>, _ sa: SIMD4<Int>, _ sb: SIMD4<Int>,
    _ body: (Int, Int, Int, Int) -> Void
) {
    guard !range.isEmpty else { return }
    var idx = dims.index(of: range.lowerBound)
    var k = range.lowerBound
    let inner = dims.extents[3]
    while k < range.upperBound {
        let run = Swift.min(inner - idx[3], range.upperBound - k)
        body(k, dot(idx, sa), dot(idx, sb), run)
        k += run
        dims.advance(&idx, by: run)
    }
}

/// Σ over the positions of an output that broadcast onto one element of an
/// operand: the operand element has multi-index `index` (padded, 0 on the
/// summed axes); `summed` is ``SummedSet(_:_:_:)`` of the dimensions with
/// the output's extents on the axes the operand was broadcast along (1
/// elsewhere), `gStrides` and `otherStrides`. `term(offsetG, offsetOther)`
/// gets offsets computed with `gStrides` and `otherStrides` (output space).
/// The summation order is fixed: blocked pairwise over the summed axes,
/// row-major (Note [Summation order]).
@inline(__always)
func sumOverBroadcast<T: TensorElement>(
    _ index: SIMD4<Int>, _ summed: SummedSet, _ gStrides: SIMD4<Int>, _ otherStrides: SIMD4<Int>,
    _ term: (Int, Int) -> T
) -> T {
    let baseG = dot(index, gStrides)
    let baseO = dot(index, otherStrides)
    return Summation.sum(summed, 0..<summed.count) { og, oo in term(baseG + og, baseO + oo) }
}
