/// Where the pages of a block are asked to live.
public enum NUMAPlacement: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Every page on one node.
    case node(Int)
    /// Pages spread over all nodes, page by page (for read-mostly data that
    /// every node reads).
    case interleaved

    public var description: String {
        switch self {
        case .node(let id): "node \(id)"
        case .interleaved: "interleaved"
        }
    }

    /// Nodes by id, then interleaved.
    public static func < (a: NUMAPlacement, b: NUMAPlacement) -> Bool {
        switch (a, b) {
        case (.node(let x), .node(let y)): x < y
        case (.node, .interleaved): true
        case (.interleaved, _): false
        }
    }
}

/// What the kernel says about one page of a queried range (`move_pages`
/// in query mode).
enum PageStatus: Hashable, Sendable, CustomStringConvertible {
    /// The page is present, on this node.
    case node(Int)
    /// The page has never been touched, so it is on no node yet (`-ENOENT`).
    case notPresent
    /// Another error for this page, as a positive `errno` (for example
    /// `EFAULT`, 14: the address is not mapped).
    case failed(errno: Int32)

    /// `move_pages`' status word: a node, or a negative `errno`.
    init(status: Int32) {
        if status >= 0 {
            self = .node(Int(status))
        } else if status == -2 {  // ENOENT
            self = .notPresent
        } else {
            self = .failed(errno: -status)
        }
    }

    var description: String {
        switch self {
        case .node(let id): "node \(id)"
        case .notPresent: "not present"
        case .failed(let errno): "error \(errno)"
        }
    }
}

/// A whole-page allocation obtained from a ``NUMASystem``: what
/// ``AlignedBuffer`` holds an execution's arena in.
///
/// `base` is page-aligned on the libnuma and simulated systems and 64-byte
/// aligned on the fallback; `byteCount` is what must be handed back to
/// ``NUMASystem/free(_:)`` (a whole number of pages). The memory is zero
/// when it is handed out. A block is freed exactly once, by its owner.
struct NUMABlock {
    let base: UnsafeMutableRawPointer
    let byteCount: Int
    let placement: NUMAPlacement

    /// The block's bytes, for page queries.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: byteCount) }
}

/// Which kind of system placed the memory, for reports.
enum NUMASystemKind: Hashable, Sendable {
    /// libnuma, loaded from the named library file.
    case libnuma(library: String)
    /// A simulated topology (`BACKPROP_NUMA_TOPOLOGY`, or a test): memory is
    /// plain, placement is only recorded.
    case simulated(source: String)
    /// No NUMA: one node, plain 64-byte aligned allocation, for the reason
    /// given (`"disabled by BACKPROP_NUMA=off"`, `"libnuma not found"`, …).
    case fallback(reason: String)
}

/// The operations that NUMA-aware buffers need from the operating system:
/// the test seam between placement policy and libnuma.
///
/// Three implementations: ``LibNUMASystem`` (libnuma, loaded at run time),
/// ``FallbackNUMASystem`` (one node, plain aligned allocation) and
/// ``SimulatedNUMASystem`` (N nodes in name only; it records each
/// request and answers page queries from that record).
/// ``NUMA/makeSystem(environment:library:cpuCount:)`` chooses one from the
/// environment.
///
/// Callers allocate through ``allocate(byteCount:placement:)`` (and its
/// two spellings), which validate the node against ``topology`` first;
/// implementations provide ``allocateUnchecked(byteCount:placement:)``.
/// All methods may be called from any thread.
protocol NUMASystem: AnyObject, Sendable {
    /// Which kind of system this is.
    var kind: NUMASystemKind { get }
    /// What became of libnuma when this system was chosen: found, found
    /// without NUMA support, not found, or not loaded.
    var libnuma: LibNUMAStatus { get }
    /// The nodes that memory can be placed on, and their CPUs.
    var topology: NUMATopology { get }
    /// The page size that placement works in, in bytes.
    var pageSize: Int { get }

    /// A zeroed block of `byteCount` bytes, placed as asked.
    ///
    /// - Precondition: `byteCount` is a positive whole number of pages and
    ///   `placement` names a node of ``topology`` (callers go through
    ///   ``allocate(byteCount:placement:)``, which sees to both).
    /// - Returns: `nil` when the memory cannot be obtained.
    func allocateUnchecked(byteCount: Int, placement: NUMAPlacement) -> NUMABlock?

    /// Returns a block obtained from this system.
    func free(_ block: NUMABlock)

    /// Places the untouched pages of `region` — whole pages inside a block
    /// of this system — at `placement` when they are first touched.
    ///
    /// - Precondition: `region` starts on a page boundary and spans whole
    ///   pages of a live block, and `placement` names a node of
    ///   ``topology`` (callers go through ``bind(_:placement:)``).
    /// - Returns: Whether the pages are placed as asked (`false` where
    ///   libnuma lacks the binding functions).
    func bindUnchecked(_ region: UnsafeMutableRawBufferPointer, placement: NUMAPlacement) -> Bool

    /// The node of `cpu`, or `nil` when ``topology`` does not list the CPU.
    func node(ofCPU cpu: Int) -> Int?

    /// The CPU the calling thread runs on now (`sched_getcpu`), or `nil`
    /// where that cannot be known. Threads migrate: treat it as a hint.
    func currentCPU() -> Int?

    /// Where each page overlapping `region` is, without faulting any page
    /// in (`move_pages` with no target nodes).
    ///
    /// - Returns: One status per page, from the page containing the first
    ///   byte to the page containing the last; `nil` when this system
    ///   cannot tell (the fallback), or the query itself failed.
    func pageStatus(of region: UnsafeRawBufferPointer) -> [PageStatus]?
}

extension NUMASystem {
    /// A zeroed block on `node`.
    ///
    /// - Throws: ``NUMAError/invalidNode(_:available:)`` for a node that
    ///   ``topology`` does not have; ``NUMAError/allocationFailed(byteCount:placement:)``.
    func allocate(byteCount: Int, onNode node: Int) throws(NUMAError) -> NUMABlock {
        try allocate(byteCount: byteCount, placement: .node(node))
    }

    /// A zeroed block whose pages alternate over all nodes.
    ///
    /// - Throws: ``NUMAError/allocationFailed(byteCount:placement:)``.
    func allocateInterleaved(byteCount: Int) throws(NUMAError) -> NUMABlock {
        try allocate(byteCount: byteCount, placement: .interleaved)
    }

    /// A zeroed block of at least `byteCount` bytes (whole pages), placed
    /// as asked, after checking the node id.
    ///
    /// - Throws: ``NUMAError/invalidNode(_:available:)``,
    ///   ``NUMAError/allocationFailed(byteCount:placement:)``.
    func allocate(byteCount: Int, placement: NUMAPlacement) throws(NUMAError) -> NUMABlock {
        precondition(byteCount >= 0, "negative byte count")
        if case .node(let node) = placement { try topology.validate(node: node) }
        let rounded = roundToPages(Swift.max(1, byteCount))
        guard let block = allocateUnchecked(byteCount: rounded, placement: placement) else {
            throw .allocationFailed(byteCount: rounded, placement: placement)
        }
        return block
    }

    /// Places the untouched pages of `region` at `placement` (see
    /// ``bindUnchecked(_:placement:)``), after checking the node id and that
    /// the region is whole pages.
    ///
    /// - Throws: ``NUMAError/invalidNode(_:available:)``.
    /// - Returns: Whether the pages are placed as asked.
    @discardableResult
    func bind(_ region: UnsafeMutableRawBufferPointer, placement: NUMAPlacement) throws(NUMAError)
        -> Bool
    {
        if case .node(let node) = placement { try topology.validate(node: node) }
        precondition(
            UInt(bitPattern: region.baseAddress) % UInt(pageSize) == 0
                && region.count % pageSize == 0, "binding a region that is not whole pages")
        return bindUnchecked(region, placement: placement)
    }

    /// `byteCount` rounded up to whole pages.
    func roundToPages(_ byteCount: Int) -> Int {
        (byteCount + pageSize - 1) / pageSize * pageSize
    }

    /// The node of the CPU the calling thread runs on now, or the first
    /// node when that cannot be known. Dispatch cannot pin threads, so this
    /// is how a worker finds its node (see Note [NUMA placement]).
    func currentNode() -> Int {
        currentCPU().flatMap { node(ofCPU: $0) } ?? topology.nodes[0].id
    }

    /// The page-aligned addresses of the pages that overlap `region`: from
    /// the page containing its first byte to the page containing its last.
    func pageAddresses(of region: UnsafeRawBufferPointer) -> [UInt] {
        guard let start = region.baseAddress, region.count > 0 else { return [] }
        let size = UInt(pageSize)
        let first = UInt(bitPattern: start) / size
        let last = (UInt(bitPattern: start) + UInt(region.count) - 1) / size
        return (first...last).map { $0 * size }
    }

    /// Where each page of `block` is (see ``pageStatus(of:)``).
    func pageStatus(of block: NUMABlock) -> [PageStatus]? { pageStatus(of: block.bytes) }

    /// One line: the kind of system and its nodes, e.g.
    /// `"libnuma (libnuma.so.1), 2 nodes"`.
    var summary: String {
        let count = topology.nodes.count
        let nodes = "\(count) node\(count == 1 ? "" : "s")"
        switch kind {
        case .libnuma(let library): return "libnuma (\(library)), \(nodes)"
        case .simulated(let source): return "simulated \(nodes) (\(source))"
        case .fallback(let reason): return "off, plain allocation on 1 node (\(reason))"
        }
    }
}
