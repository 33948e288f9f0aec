// Accurate, deterministic summation for every runtime reduction: sum and
// mean over axes, the two stages of a split reduction, the VJP of
// broadcasting (bias gradients) and the lane sums of softmax, log_softmax
// and cross_entropy.

// Note [Summation order]
// A running sum `acc += x[i]` over n float32 values has an error that grows
// like n: summing 2^20 values in [0, 1) that way was 8.0e-7 (relative) off
// the exact sum, and S3's ω 2.35e-5 off a float64 evaluation. Every runtime
// reduction instead sums its set in this fixed order:
//
// 1. The set is read as positions 0..<n in row-major order over its axes
//    (axes of extent 1 dropped, axes contiguous in every operand merged, so
//    a run is as long as the memory layout allows). A run is a stretch of
//    positions along the innermost axis.
// 2. Each run is cut, from its first position, into leaves of at most
//    `Summation.leafLength` (128) positions. A leaf is summed by 8
//    independent accumulators — position i of the leaf goes to accumulator
//    i mod 8 while a full group of 8 remains — combined as
//    ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)), then the last
//    (< 8) positions are added in order. The 8 accumulators are independent
//    adds that SIMD runs side by side.
// 3. Leaf sums are combined pairwise in leaf order, as a binary counter:
//    leaf k's sum merges with the sums on the stack while k's low bits are
//    1 (the sum of leaves 0, 1 is merged with that of 2, 3, and so on), and
//    what is left on the stack is added from the newest to the oldest.
//
// Accumulators, leaf sums and merges are float64 for both element types,
// rounded once to the element type at the end (a mean divides by n before
// that rounding; a two-stage partial is rounded): for float32 the sum's error
// is then about the final rounding (half an ulp), whatever n; float32
// accumulators in the same order still left 1.4e-7 (over 2 ulps) on some
// of a [1024, 1024] tensor's row sums. For float64 the error grows like
// log2(n / 128) + 16 additions, not n. Measured figures: docs/ops.md,
// "Summation order and accuracy" (`ReductionAccuracyTests`).
//
// The order is a function of the set's shape and strides and of the
// positions asked for — never of the thread count or of how outputs were
// chunked, since each output element is summed whole by one call. A
// two-stage reduction (Note [Two-stage reductions]) sums each block of
// positions in this order from the block's first position, rounds it to a
// partial, and combines its blocks' partials with the same function, in
// block order; its blocks are a function of the plan. So the determinism
// contract (Note [Determinism]) holds.

/// The summation kernels of Note [Summation order].
enum Summation {
    /// The longest leaf, in positions.
    static let leafLength = 128

    /// Σ `term(offsetA, offsetB)` over `positions` (row-major) of `set`, the
    /// offsets being Σ index·`set.sa` and Σ index·`set.sb`; in the order of
    /// Note [Summation order].
    @inline(__always)
    static func sum<T: TensorElement>(
        _ set: SummedSet, _ positions: Range<Int>, _ term: (Int, Int) -> T
    ) -> T {
        T(wideSum(set, positions, term))
    }

    /// ``sum(_:_:_:)`` before its one rounding to `T` (mean divides first).
    @inline(__always)
    static func wideSum<T: TensorElement>(
        _ set: SummedSet, _ positions: Range<Int>, _ term: (Int, Int) -> T
    ) -> Double {
        wideSum(set.dims, positions, set.sa, set.sb, term)
    }

    /// The float64 sum of `positions` of a set given by its parts.
    @inline(__always)
    static func wideSum<T: TensorElement>(
        _ dims: Dims4, _ positions: Range<Int>, _ sa: SIMD4<Int>, _ sb: SIMD4<Int>,
        _ term: (Int, Int) -> T
    ) -> Double {
        guard !positions.isEmpty else { return 0 }
        var idx = dims.index(of: positions.lowerBound)
        let inner = dims.extents[3]
        let firstRun = Swift.min(inner - idx[3], positions.count)
        if firstRun == positions.count && firstRun <= leafLength {
            return leaf(firstRun, dot(idx, sa), dot(idx, sb), sa[3], sb[3], term)
        }
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 64) { stack in
            var counter = PairwiseCounter(stack: stack.baseAddress!)
            var k = positions.lowerBound
            while k < positions.upperBound {
                let run = Swift.min(inner - idx[3], positions.upperBound - k)
                var oa = dot(idx, sa)
                var ob = dot(idx, sb)
                var t = 0
                while t < run {
                    let length = Swift.min(leafLength, run - t)
                    counter.push(leaf(length, oa, ob, sa[3], sb[3], term))
                    oa += length * sa[3]
                    ob += length * sb[3]
                    t += length
                }
                k += run
                dims.advance(&idx, by: run)
            }
            return counter.total
        }
    }

    /// Σ `term(i)` for i in `0..<count`, in the order of Note [Summation order].
    @inline(__always)
    static func sum<T: TensorElement>(count: Int, _ term: (Int) -> T) -> T {
        T(
            wideSum(Dims4(extents: SIMD4(1, 1, 1, count)), 0..<count, SIMD4(0, 0, 0, 1), .zero) {
                i, _ in term(i)
            })
    }

    /// One leaf: 8 accumulators over full groups of 8, a fixed tree, then
    /// the tail in order; in float64.
    @inline(__always)
    static func leaf<T: TensorElement>(
        _ count: Int, _ oa: Int, _ ob: Int, _ sa: Int, _ sb: Int, _ term: (Int, Int) -> T
    ) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
        var a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
        var i = 0
        var pa = oa, pb = ob
        while i + 8 <= count {
            a0 += Double(term(pa, pb))
            a1 += Double(term(pa + sa, pb + sb))
            a2 += Double(term(pa + 2 * sa, pb + 2 * sb))
            a3 += Double(term(pa + 3 * sa, pb + 3 * sb))
            a4 += Double(term(pa + 4 * sa, pb + 4 * sb))
            a5 += Double(term(pa + 5 * sa, pb + 5 * sb))
            a6 += Double(term(pa + 6 * sa, pb + 6 * sb))
            a7 += Double(term(pa + 7 * sa, pb + 7 * sb))
            pa += 8 * sa
            pb += 8 * sb
            i += 8
        }
        var s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
        while i < count {
            s += Double(term(pa, pb))
            pa += sa
            pb += sb
            i += 1
        }
        return s
    }
}

/// A set of positions to sum, read through two stride vectors, with axes of
/// extent 1 dropped and neighbouring axes merged where both stride vectors
/// are contiguous across them: the same positions, in the same order, at
/// the same offsets, in fewer and longer runs (Note [Summation order], 1).
/// Build it once per kernel call, not per output element.
struct SummedSet: Sendable {
    let dims: Dims4
    let sa: SIMD4<Int>
    let sb: SIMD4<Int>

    init(_ dims: Dims4, _ sa: SIMD4<Int>, _ sb: SIMD4<Int> = .zero) {
        var e = SIMD4<Int>(repeating: 1), a = SIMD4<Int>.zero, b = SIMD4<Int>.zero
        var top = 4  // axes top..<4 of e, a, b are filled, innermost last
        for axis in stride(from: 3, through: 0, by: -1) where dims.extents[axis] != 1 {
            if top < 4, sa[axis] == e[top] * a[top], sb[axis] == e[top] * b[top] {
                e[top] *= dims.extents[axis]
                continue
            }
            top -= 1
            e[top] = dims.extents[axis]
            a[top] = sa[axis]
            b[top] = sb[axis]
        }
        self.dims = Dims4(extents: e)
        self.sa = a
        self.sb = b
    }

    var count: Int { dims.count }
}

/// What ``PairwiseCounter`` adds: a float64 sum, or a vector of them.
private protocol PairwiseSummand {
    init()
    static func + (a: Self, b: Self) -> Self
}
extension Double: PairwiseSummand {}
extension SIMD4<Double>: PairwiseSummand {}

/// Pairwise combination of leaf sums in leaf order: a binary counter whose
/// stack holds the sums of complete power-of-two groups of leaves. `V` is
/// `Double`, or a vector of them summing several columns in step.
private struct PairwiseCounter<V: PairwiseSummand> {
    let stack: UnsafeMutablePointer<V>
    var depth = 0
    var leaves = 0

    init(stack: UnsafeMutablePointer<V>) {
        self.stack = stack
    }

    @inline(__always)
    mutating func push(_ value: V) {
        var v = value
        var k = leaves
        while k & 1 == 1 {
            depth -= 1
            v = stack[depth] + v
            k >>= 1
        }
        stack[depth] = v
        depth += 1
        leaves += 1
    }

    /// The sum of everything pushed: the stack, newest to oldest.
    var total: V {
        guard depth > 0 else { return V() }
        var s = stack[depth - 1]
        var i = depth - 1
        while i > 0 {
            i -= 1
            s = stack[i] + s
        }
        return s
    }
}

extension Summation {
    /// Column sums of a row-major `[m, n]` matrix `g`, for the columns `r`:
    /// `store(j, Σ_i g[i·n + j])`, each column summed in exactly the order of
    /// Note [Summation order] for a single run of `m` positions with stride
    /// `n` — the bits ``sum(_:_:_:)`` gives column by column — but four
    /// columns side by side, so the adds run as vectors (a bias gradient:
    /// 9% of S2's profile when summed column by column).
    @inline(__always)
    static func columnSums<T: TensorElement>(
        _ g: UnsafePointer<T>, rows m: Int, columns n: Int, _ r: Range<Int>,
        _ store: (Int, T) -> Void
    ) {
        typealias V = SIMD4<Double>
        @inline(__always) func load(_ p: UnsafePointer<T>) -> V {
            V(Double(p[0]), Double(p[1]), Double(p[2]), Double(p[3]))
        }
        var j = r.lowerBound
        withUnsafeTemporaryAllocation(of: V.self, capacity: 32) { stack in
            while j + 4 <= r.upperBound {
                // The pairwise counter of Note [Summation order] on vectors
                // (32 levels: 2^32 leaves of 128 rows).
                var counter = PairwiseCounter(stack: stack.baseAddress!)
                var row = 0
                while row < m {
                    let length = Swift.min(leafLength, m - row)
                    var a0 = V(), a1 = V(), a2 = V(), a3 = V()
                    var a4 = V(), a5 = V(), a6 = V(), a7 = V()
                    var p = g + row * n + j
                    var i = 0
                    while i + 8 <= length {
                        a0 += load(p)
                        a1 += load(p + n)
                        a2 += load(p + 2 * n)
                        a3 += load(p + 3 * n)
                        a4 += load(p + 4 * n)
                        a5 += load(p + 5 * n)
                        a6 += load(p + 6 * n)
                        a7 += load(p + 7 * n)
                        p += 8 * n
                        i += 8
                    }
                    var s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
                    while i < length {
                        s += load(p)
                        p += n
                        i += 1
                    }
                    counter.push(s)
                    row += length
                }
                let total = counter.total
                for l in 0..<4 { store(j + l, T(total[l])) }
                j += 4
            }
        }
        // The last columns one by one, in the same order.
        let set = SummedSet(Dims4(extents: SIMD4(1, 1, 1, m)), SIMD4(0, 0, 0, n))
        while j < r.upperBound {
            let column = j
            store(column, sum(set, 0..<m) { o, _ in g[o + column] })
            j += 1
        }
    }
}
