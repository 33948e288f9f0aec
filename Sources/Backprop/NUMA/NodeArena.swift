import Synchronization

/// A region of a ``NodeArena``: 64-byte aligned bytes placed as the arena
/// places them.
///
/// A view, not an owner: the bytes stay valid while the arena lives and
/// until it is ``NodeArena/reset()``. Which thread writes which bytes is
/// the plan's business (workers write disjoint regions), as for
/// ``AlignedBuffer``; hence `@unchecked Sendable`.
struct ArenaRegion: @unchecked Sendable {
    /// The first byte; a multiple of ``NodeArena/alignment``.
    let base: UnsafeMutableRawPointer
    /// The bytes asked for (the arena may have set aside a little more).
    let byteCount: Int
    /// Where the arena's blocks are placed.
    let placement: NUMAPlacement
    /// What the region was allocated for.
    let role: BufferRole

    /// The region's bytes.
    var bytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base, count: byteCount)
    }

    /// The region as `byteCount / stride` elements of `T`.
    func bind<T: BitwiseCopyable>(to _: T.Type) -> UnsafeMutableBufferPointer<T> {
        let count = byteCount / MemoryLayout<T>.stride
        return UnsafeMutableBufferPointer(
            start: base.bindMemory(to: T.self, capacity: count), count: count)
    }
}

/// A bump allocator over large blocks placed on one node (or interleaved),
/// all freed together when the arena goes.
///
/// One arena per node (and one interleaved, for parameters): see
/// Note [NUMA placement] at ``NUMAPolicy``. Blocks come from the system's
/// allocate-on-node (or interleaved) call, at least ``minimumBlockSize``
/// bytes each, and regions are cut from them in order at 64-byte
/// boundaries, so no two regions share a cache line. A request that does
/// not fit the current block moves on to a new block; a request larger
/// than ``minimumBlockSize`` gets a block of its own size. Plans that know
/// their total size per node pass it as `minimumBlockSize` and get a single
/// block.
///
/// ```swift
/// let arena = try NodeArena(system: system, placement: .node(1))
/// let partials = try arena.allocate(byteCount: 4096, role: .partial)
/// arena.record.bytes(.partial, at: .node(1))  // 4096
/// ```
///
/// Fresh blocks are zero. ``reset()`` rewinds the arena without freeing
/// or zeroing: the same sequence of requests then gets the same regions,
/// allocating nothing. Allocation takes a lock and may be called from any
/// thread (set-up time, not the hot path).
final class NodeArena: Sendable {
    /// The alignment of every region, in bytes (a cache line).
    static var alignment: Int { 64 }
    /// The default ``minimumBlockSize``: 1 MiB.
    static var defaultBlockSize: Int { 1 << 20 }

    let system: any NUMASystem
    /// Where every block of this arena is placed.
    let placement: NUMAPlacement
    /// The smallest block requested from the system, in bytes.
    let minimumBlockSize: Int

    private struct State {
        var blocks: [NUMABlock] = []
        /// The block regions are cut from, and the bytes used in it.
        var current = 0
        var used = 0
        var record = PlacementRecord()
    }
    private let state = Mutex(State())

    /// An empty arena; blocks are obtained on first use.
    ///
    /// - Throws: ``NUMAError/invalidNode(_:available:)`` when `placement`
    ///   names a node that the system's topology does not have.
    init(
        system: any NUMASystem, placement: NUMAPlacement,
        minimumBlockSize: Int = NodeArena.defaultBlockSize
    ) throws(NUMAError) {
        if case .node(let node) = placement { try system.topology.validate(node: node) }
        self.system = system
        self.placement = placement
        self.minimumBlockSize = Swift.max(Self.alignment, minimumBlockSize)
    }

    deinit {
        state.withLock { state in
            for block in state.blocks { system.free(block) }
            state.blocks = []
        }
    }

    /// A 64-byte aligned region of `byteCount` bytes (a zero-byte request
    /// still gets a distinct address), counted under `role`.
    ///
    /// - Throws: ``NUMAError/allocationFailed(byteCount:placement:)`` when
    ///   the system cannot provide a block.
    /// - Complexity: O(1), plus a system call when a new block is needed.
    func allocate(byteCount: Int, role: BufferRole) throws(NUMAError) -> ArenaRegion {
        precondition(byteCount >= 0, "negative byte count")
        let size = Swift.max(
            Self.alignment, (byteCount + Self.alignment - 1) / Self.alignment * Self.alignment)
        let result: Result<UnsafeMutableRawPointer, NUMAError> = state.withLock { state in
            // Use the current block, else the next one that fits (after a
            // reset), else a new one.
            while state.current < state.blocks.count {
                if state.used + size <= state.blocks[state.current].byteCount { break }
                state.current += 1
                state.used = 0
            }
            if state.current == state.blocks.count {
                do throws(NUMAError) {
                    let block = try system.allocate(
                        byteCount: Swift.max(size, minimumBlockSize), placement: placement)
                    state.blocks.append(block)
                    state.used = 0
                } catch {
                    return .failure(error)
                }
            }
            let base = state.blocks[state.current].base + state.used
            state.used += size
            state.record.add(byteCount, role: role, at: placement)
            return .success(base)
        }
        switch result {
        case .success(let base):
            return ArenaRegion(base: base, byteCount: byteCount, placement: placement, role: role)
        case .failure(let error):
            throw error
        }
    }

    /// A region for `count` elements of `T`, counted under `role`.
    func allocate<T: BitwiseCopyable>(
        _: T.Type, count: Int, role: BufferRole
    ) throws(NUMAError) -> ArenaRegion {
        try allocate(byteCount: count * MemoryLayout<T>.stride, role: role)
    }

    /// Rewinds the arena: the blocks are kept (neither freed nor zeroed)
    /// and handed out again from the start; the record is cleared.
    ///
    /// - Precondition: no region from before is used afterwards.
    func reset() {
        state.withLock { state in
            state.current = 0
            state.used = 0
            state.record = PlacementRecord()
        }
    }

    /// The bytes of each role handed out since creation or the last reset.
    var record: PlacementRecord { state.withLock { $0.record } }

    /// The number of blocks obtained from the system.
    var blockCount: Int { state.withLock { $0.blocks.count } }

    /// The bytes obtained from the system (whole pages).
    var reservedBytes: Int { state.withLock { $0.blocks.reduce(0) { $0 + $1.byteCount } } }

    /// Where each page of `region` is, as the system reports it (see
    /// ``NUMASystem/pageStatus(of:)``).
    func pageStatus(of region: ArenaRegion) -> [PageStatus]? {
        system.pageStatus(of: UnsafeRawBufferPointer(region.bytes))
    }
}
