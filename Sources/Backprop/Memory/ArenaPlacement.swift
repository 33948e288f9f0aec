// Note [Arena placement]
// A plan lays every buffer out in one arena (Note [Memory reuse]); on a
// machine with several NUMA nodes the execution decides, page by page,
// which node each part of that arena lives on (Note [NUMA placement]):
//
// - Each task of a phase has a home node, a function of the plan and the
//   node count only (``TaskAffinity``): a phase's tasks are cut into one
//   contiguous block per node. Workers claim their own node's block first
//   and steal from the others when it runs out (``PassState``), so a task
//   usually runs on its home node — and when it does not, only speed
//   suffers: which worker runs a task never changes a bit of the result.
// - Every item records the arena elements it writes (a chunk's share of a
//   value, a partial buffer, a gradient range of a join). Each page gets a
//   vote per byte from the tasks that write it, for their home node; the
//   values callers set (inputs, parameters, constants, the cotangent) vote
//   for interleaving instead, since every node's workers read them. The
//   page goes to the placement with the most bytes (ties: the lower node,
//   then interleaved); a page nobody writes stays on the node of the
//   thread that created the execution.
// - Pages are bound before anything touches them (`mbind` through
//   libnuma), so the first touch — whichever thread makes it — lands where
//   the vote says. Buffers larger than a few pages are placed exactly,
//   chunk by chunk; small ones share pages, and a shared page goes to the
//   majority. Reuse of arena space by liveness means a page may be written
//   by different nodes' tasks at different times; it then follows the
//   bytes written over a whole pass.
// With one node there is nothing to decide: the arena is one block on it.

/// A buffer's place in a plan's arena: `start..<start + count` elements,
/// holding data of `role`.
struct BufferSpan: Hashable, Sendable {
    var start: Int
    var count: Int
    var role: BufferRole
}

/// Where each page of an execution's arena goes, and what that places on
/// each node (Note [Arena placement]).
struct ArenaPlacement: Sendable {
    /// Maximal runs of pages with one placement, in page order, covering
    /// every page of the arena.
    let runs: [(pages: Range<Int>, placement: NUMAPlacement)]
    /// The bytes of each role at each placement. Buffers that share arena
    /// space through reuse each count their bytes.
    let record: PlacementRecord

    /// The placement of `plan`'s arena on `topology`, for an execution
    /// created on node `home`.
    init<T: TensorElement>(plan: Plan<T>, topology: NUMATopology, pageSize: Int, home: Int) {
        let stride = MemoryLayout<T>.stride
        let bytes = Swift.max(1, plan.tables.arenaCount) * stride
        let pageCount = (bytes + pageSize - 1) / pageSize
        let nodeIDs = topology.nodeIDs
        let n = nodeIDs.count
        guard n > 1, plan.tables.tape == nil else {
            runs = [(0..<pageCount, .node(home))]
            var record = PlacementRecord()
            for span in plan.tables.bufferSpans {
                record.add(span.count * stride, role: span.role, at: .node(home))
            }
            if plan.tables.tape != nil {
                // A tape's arena holds values then gradients, no spans.
                record.add(plan.tables.arenaCount * stride, role: .value, at: .node(home))
            }
            self.record = record
            return
        }
        // votes[page * (n + 1) + k]: bytes for node index k; k == n: interleaved.
        var votes = [Int](repeating: 0, count: pageCount * (n + 1))
        func vote(_ elements: Range<Int>, for k: Int) {
            Self.forEachPage(of: elements, stride: stride, pageSize: pageSize) { page, bytes in
                votes[page * (n + 1) + k] += bytes
            }
        }
        for p in 0..<plan.tables.phaseCount {
            let first = plan.tables.phaseStart[p], count = plan.tables.phaseStart[p + 1] - first
            for i in 0..<count {
                let k = TaskAffinity.node(ofTask: i, count: count, nodes: n)
                for item in plan.tables.taskStart[first + i]..<plan.tables.taskStart[first + i + 1]
                {
                    vote(plan.tables.itemWrites[item], for: k)
                }
            }
        }
        for span in plan.tables.bufferSpans where span.role == .parameter {
            vote(span.start..<(span.start + span.count), for: n)
        }
        var pagePlacement = [NUMAPlacement](repeating: .node(home), count: pageCount)
        for page in 0..<pageCount {
            var best = -1, bestBytes = 0
            for k in 0...n where votes[page * (n + 1) + k] > bestBytes {
                best = k
                bestBytes = votes[page * (n + 1) + k]
            }
            if best >= 0 { pagePlacement[page] = best == n ? .interleaved : .node(nodeIDs[best]) }
        }
        var runs: [(pages: Range<Int>, placement: NUMAPlacement)] = []
        for page in 0..<pageCount {
            if let last = runs.last, last.placement == pagePlacement[page] {
                runs[runs.count - 1].pages = last.pages.lowerBound..<(page + 1)
            } else {
                runs.append((page..<(page + 1), pagePlacement[page]))
            }
        }
        self.runs = runs
        var record = PlacementRecord()
        for span in plan.tables.bufferSpans {
            Self.forEachPage(
                of: span.start..<(span.start + span.count), stride: stride, pageSize: pageSize
            ) { page, bytes in
                record.add(bytes, role: span.role, at: pagePlacement[page])
            }
        }
        self.record = record
    }

    /// Calls `body` with each page that arena elements `elements` overlap
    /// and the number of their bytes on it.
    private static func forEachPage(
        of elements: Range<Int>, stride: Int, pageSize: Int,
        _ body: (_ page: Int, _ bytes: Int) -> Void
    ) {
        let lo = elements.lowerBound * stride, hi = elements.upperBound * stride
        var page = lo / pageSize
        while page * pageSize < hi {
            body(page, Swift.min(hi, (page + 1) * pageSize) - Swift.max(lo, page * pageSize))
            page += 1
        }
    }
}
