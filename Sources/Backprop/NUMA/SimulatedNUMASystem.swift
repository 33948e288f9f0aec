import Synchronization

/// N nodes in name only: placement policy made observable on any machine.
///
/// Memory is ordinary page-aligned heap memory; what the system keeps is a
/// record of every request (which node, or interleaved, and how many
/// bytes) and of the blocks still live, and it answers page queries from
/// that record in the model of the kernel's policies: every page of a
/// block bound to a node is on that node; page `k` of an interleaved block
/// is on the `k`-th node of the topology, cyclically. Pages are reported
/// as present (the model does not track touching); addresses outside any
/// live block are `EFAULT`. A range bound later (``bindUnchecked(_:placement:)``)
/// overrides its block's placement for its pages, the last binding winning;
/// page `k` of an interleaved range is on the `k`-th node, cyclically.
///
/// It serves the topology override `BACKPROP_NUMA_TOPOLOGY` (so that
/// multi-node policy runs on a one-node machine) and the tests, which also
/// choose the CPU that "the current thread" runs on.
final class SimulatedNUMASystem: NUMASystem {
    /// One allocation request, as it was asked for.
    struct Request: Hashable, Sendable {
        let byteCount: Int
        let placement: NUMAPlacement
    }

    let topology: NUMATopology
    let pageSize: Int
    let libnuma: LibNUMAStatus
    /// Where the topology came from, for reports.
    let source: String
    private let cpuProvider: @Sendable () -> Int?

    private struct State {
        var requests: [Request] = []
        /// Live blocks by base address.
        var live: [UInt: Request] = [:]
        /// Bound ranges of live blocks, in binding order.
        var bound: [(range: Range<UInt>, placement: NUMAPlacement)] = []
    }
    private let state = Mutex(State())

    /// A simulated system.
    ///
    /// - Parameters:
    ///   - topology: The nodes to simulate.
    ///   - source: Where they came from, for reports.
    ///   - libnuma: What became of libnuma (the simulation does not use it).
    ///   - pageSize: The page size of the model.
    ///   - currentCPU: What ``currentCPU()`` answers; by default the CPU
    ///     the thread really runs on.
    init(
        topology: NUMATopology, source: String = "test",
        libnuma: LibNUMAStatus = .notLoaded(reason: "simulated topology"),
        pageSize: Int = LibC.pageSize,
        currentCPU: @escaping @Sendable () -> Int? = { LibC.currentCPU() }
    ) {
        precondition(pageSize >= FallbackNUMASystem.alignment && pageSize & (pageSize - 1) == 0)
        self.topology = topology
        self.source = source
        self.libnuma = libnuma
        self.pageSize = pageSize
        self.cpuProvider = currentCPU
    }

    var kind: NUMASystemKind { .simulated(source: source) }

    /// Every request so far, in order (freed blocks included).
    var requests: [Request] { state.withLock { $0.requests } }

    /// The number of blocks handed out and not yet freed.
    var liveBlockCount: Int { state.withLock { $0.live.count } }

    func allocateUnchecked(byteCount: Int, placement: NUMAPlacement) -> NUMABlock? {
        let base = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: pageSize)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        let request = Request(byteCount: byteCount, placement: placement)
        state.withLock {
            $0.requests.append(request)
            $0.live[UInt(bitPattern: base)] = request
        }
        return NUMABlock(base: base, byteCount: byteCount, placement: placement)
    }

    func free(_ block: NUMABlock) {
        let start = UInt(bitPattern: block.base)
        let removed = state.withLock {
            $0.bound.removeAll {
                $0.range.lowerBound >= start && $0.range.upperBound <= start + UInt(block.byteCount)
            }
            return $0.live.removeValue(forKey: start)
        }
        precondition(removed != nil, "freeing a block this system did not hand out")
        block.base.deallocate()
    }

    func bindUnchecked(_ region: UnsafeMutableRawBufferPointer, placement: NUMAPlacement) -> Bool {
        let start = UInt(bitPattern: region.baseAddress)
        state.withLock { $0.bound.append((start..<(start + UInt(region.count)), placement)) }
        return true
    }

    func node(ofCPU cpu: Int) -> Int? { topology.node(ofCPU: cpu) }

    func currentCPU() -> Int? { cpuProvider() }

    func pageStatus(of region: UnsafeRawBufferPointer) -> [PageStatus]? {
        let pages = pageAddresses(of: region)
        let (live, bound) = state.withLock { ($0.live, $0.bound) }
        let size = UInt(pageSize)
        func node(_ placement: NUMAPlacement, page: UInt, base: UInt) -> PageStatus {
            switch placement {
            case .node(let id):
                return .node(id)
            case .interleaved:
                let k = Int((page - base) / size)
                return .node(topology.nodes[k % topology.nodes.count].id)
            }
        }
        return pages.map { page in
            if let binding = bound.last(where: { $0.range.contains(page) }) {
                return node(binding.placement, page: page, base: binding.range.lowerBound)
            }
            guard
                let (base, request) = live.first(where: { base, request in
                    page >= base && page < base + UInt(request.byteCount)
                })
            else { return .failed(errno: 14) }  // EFAULT
            return node(request.placement, page: page, base: base)
        }
    }
}
