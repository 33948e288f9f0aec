// Ranged movement kernels: copies and gathers forward; their transposes
// (inverse gathers, sums over broadcast axes, windows, slices) backward.

enum MovementKernels {
    static func copyForward<T>(_ io: KernelIO<T>, _ r: Range<Int>) {
        let x = io.x(0), y = io.y
        if UnsafePointer(y) == x { return }  // computed in place (Note [In-place chains])
        for e in r { y[e] = x[e] }
    }

    static func copyVJP<T>(_ t: VJPTarget<T>, _ r: Range<Int>) {
        let g = t.g
        for e in r { t.store(e, g[e]) }
    }

    /// out[e] = source[base + Σ index·strides].
    static func gather<T>(
        _ gather: Gather, from source: UnsafePointer<T>, _ r: Range<Int>, _ put: (Int, T) -> Void
    ) {
        stridedLoop(gather.out, r, gather.strides, .zero) { k, o, _ in
            put(k, source[gather.base + o])
        }
    }

    static func broadcastVJP<T>(
        summed: Dims4, input: Dims4, gStrides: SIMD4<Int>, _ t: VJPTarget<T>, _ r: Range<Int>
    ) {
        let g = t.g
        let set = SummedSet(summed, gStrides)
        for e in r {
            t.store(
                e, sumOverBroadcast(input.index(of: e), set, gStrides, .zero) { og, _ in g[og] })
        }
    }

    static func sliceVJP<T>(
        input: Dims4, axis: Int, start: Int, end: Int, gStrides: SIMD4<Int>, _ t: VJPTarget<T>,
        _ r: Range<Int>
    ) {
        let g = t.g
        var unit = SIMD4<Int>.zero
        unit[axis] = 1
        let shift = start * gStrides[axis]
        // The second offset is the index along the axis.
        stridedLoop(input, r, gStrides, unit) { e, og, i in
            t.store(e, i >= start && i < end ? g[og - shift] : 0)
        }
    }

    static func concatForward<T>(_ c: ConcatGeometry, _ io: KernelIO<T>, _ r: Range<Int>) {
        let y = io.y
        var k = r.lowerBound
        while k < r.upperBound {
            let i = k % c.inner
            let a = (k / c.inner) % c.extent
            let outer = k / (c.inner * c.extent)
            var part = 0
            while a >= c.starts[part] + c.extents[part] { part += 1 }
            let x = io.x(part)
            let source = (outer * c.extents[part] + a - c.starts[part]) * c.inner + i
            let run = Swift.min(c.inner - i, r.upperBound - k)
            for t in 0..<run { y[k + t] = x[source + t] }
            k += run
        }
    }

    static func concatVJP<T>(_ c: ConcatGeometry, slot: Int, _ t: VJPTarget<T>, _ r: Range<Int>) {
        let g = t.g
        let extent = c.extents[slot]
        var e = r.lowerBound
        while e < r.upperBound {
            let i = e % c.inner
            let a = (e / c.inner) % extent
            let outer = e / (c.inner * extent)
            let source = (outer * c.extent + a + c.starts[slot]) * c.inner + i
            let run = Swift.min(c.inner - i, r.upperBound - e)
            for s in 0..<run { t.store(e + s, g[source + s]) }
            e += run
        }
    }
}
