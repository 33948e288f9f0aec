import Synchronization

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

/// A fused block's scratch (Note [Store or recompute]): one tile per value
/// the block recomputes, and the ``KernelIO`` through which the block's
/// kernels read those values from their tiles instead of the arena. Valid
/// while the task holds the region (one chunk of the block).
struct ScratchTiles<T: TensorElement> {
    let arena: UnsafeMutablePointer<T>
    /// The worker's scratch (`nil` when the block recomputes nothing).
    let region: ScratchPool<T>.Region?
    /// Elements per tile.
    let tile: Int
    /// The block's recompute items: item s recomputes into slot s.
    let recomputed: UnsafePointer<WorkItem>
    let count: Int

    /// The slot holding `node`'s recomputed value, or `nil`.
    @inline(__always) func slot(of node: Int) -> Int? {
        for s in 0..<count where Int(recomputed[s].node) == node { return s }
        return nil
    }

    /// The offset from the arena's base that puts element `lo` at the start
    /// of slot `s`'s tile, so that kernels index the tile by element.
    @inline(__always) func offset(slot s: Int, at lo: Int) -> Int {
        arena.distance(to: region!.tiles + s * tile) - lo
    }

    /// `io` writing its output into slot `s` (a recomputed value).
    func writing(_ io: KernelIO<T>, slot s: Int, at lo: Int) -> KernelIO<T> {
        KernelIO(
            values: io.values, parentOffsets: io.parentOffsets, parentCount: io.parentCount,
            outOffset: offset(slot: s, at: lo), aux: io.aux)
    }

    /// `io` reading `node`'s own value and its parents' (`parents`) from
    /// their tiles where the block recomputes them, for the tile starting
    /// at element `lo`. The redirected offsets live in the region until
    /// the next call.
    func redirecting(
        _ io: KernelIO<T>, node: Int, parents: ArraySlice<NodeID>, at lo: Int
    ) -> KernelIO<T> {
        guard let region, count > 0 else { return io }
        var redirected = false
        var outOffset = io.outOffset
        if let s = slot(of: node) {
            outOffset = offset(slot: s, at: lo)
            redirected = true
        }
        // By index: iterating a slice allocated in debug builds.
        for k in 0..<io.parentCount {
            if let s = slot(of: parents[parents.startIndex + k]) {
                region.offsets[k] = offset(slot: s, at: lo)
                redirected = true
            } else {
                region.offsets[k] = io.parentOffsets[k]
            }
        }
        guard redirected else { return io }
        return KernelIO(
            values: io.values, parentOffsets: UnsafePointer(region.offsets),
            parentCount: io.parentCount, outOffset: outOffset, aux: io.aux)
    }
}

/// The scratch regions for fused blocks' recomputed tiles (Note [Store or
/// recompute]): a task running a block claims a free region and returns
/// it when the block's chunk is done. Worker numbers cannot key them:
/// hot helpers' numbers are for tracing and may repeat (Note [Hot
/// workers]). The regions are allocated by ``prepare(workers:)`` before a
/// pass starts, on the calling thread, and kept for the execution's life,
/// so re-running allocates nothing (tiles of 8,192 doubles are too large
/// for the stack allocation `withUnsafeTemporaryAllocation` makes).
final class ScratchPool<T: TensorElement>: @unchecked Sendable {
    /// One region: the tiles, and room for a redirected node's parent
    /// offsets (an element node has at most two parents).
    struct Region {
        let tiles: UnsafeMutablePointer<T>
        let offsets: UnsafeMutablePointer<Int>
    }

    /// Tile elements per region (0: the plan recomputes nothing).
    let elements: Int
    /// Written only by `prepare(workers:)`, between passes.
    private var regions: [Region] = []
    /// Bit i set: region i is free.
    private let free = Atomic<UInt64>(0)
    /// Parent offsets per region.
    private static var offsetCount: Int { 4 }

    init(elements: Int) { self.elements = elements }

    /// Makes one region per worker of the coming pass (at most 64) free;
    /// called before its workers start.
    func prepare(workers: Int) {
        guard elements > 0 else { return }
        let count = Swift.min(64, Swift.max(1, workers))
        while regions.count < count {
            regions.append(
                Region(
                    tiles: .allocate(capacity: elements),
                    offsets: .allocate(capacity: Self.offsetCount)))
        }
        free.store(count == 64 ? ~0 : (1 << UInt64(count)) - 1, ordering: .releasing)
    }

    /// Claims a free region (waiting, should every one be in use: each is
    /// held for one chunk of one block) and returns its index.
    func claim() -> Int {
        while true {
            let bits = free.load(ordering: .acquiring)
            if bits == 0 {
                spinPause()
                continue
            }
            let i = bits.trailingZeroBitCount
            if free.compareExchange(
                expected: bits, desired: bits & ~(1 << UInt64(i)), ordering: .acquiringAndReleasing
            ).exchanged {
                return i
            }
        }
    }

    /// Region `i`, claimed by the caller.
    func region(_ i: Int) -> Region { regions[i] }

    /// Returns region `i` to the pool.
    func release(_ i: Int) {
        free.bitwiseOr(1 << UInt64(i), ordering: .releasing)
    }

    deinit {
        for region in regions {
            region.tiles.deallocate()
            region.offsets.deallocate()
        }
    }
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
