// Pass 2: fusion — which nodes run together, chunk by chunk, in one task
// (Note [Fusion]). Runs after the kernels and the gradient marks are known
// and before buffers are given out or anything is chunked.

// Note [Fusion]
// Every primitive node is a pass over memory, forward and again for each
// VJP; fusing a group of nodes makes it one pass. What this pipeline fuses
// today is *chunk chains* (Note [Chunk chains]): an elementwise node runs
// each of its chunks right after its newest parent's chunk of the same
// range, in the same task, while that range is in cache — elementwise
// chains, and a matrix product's bias add and activation on each block of
// rows as the product leaves it (an epilogue in cache). A chain is one
// group: one phase level, one task per chunk, its intermediates read back
// from cache instead of memory. Each node still computes every element
// whole with its own kernel, so fused and unfused plans
// (`PlanOptions.fusion`) give the same bits (`FusionTests`).
//
// A chain member that nothing outside the chain and no VJP reads needs no
// buffer of its own: the next member computes in place over it (Note
// [In-place chains]), so a chain's intermediates pass through the chunk
// in cache and memory sees only the last value; `PlanStatistics` counts
// them (`inPlaceValues`) and the planned bytes per pass (Note [Planned
// traffic]) beside the groups (`fusedGroups`, `fusedNodes`,
// `fusedEpilogues`). Likewise a unary node passes its gradient to its
// parent in place when that is the parent's only contribution (Note
// [In-place gradients], `inPlaceGradients`).
//
// The backward pass can fuse too, tile by tile across levels, recomputing
// cheap values instead of storing them (Note [Fused backward], Note [Store
// or recompute], `2-FusedBackward.swift`); that is `PlanOptions
// .fusedBackward`, off by default because it measured no faster here.

/// The forward pass's phase levels after fusion, and the chains.
struct FusionGroups {
    /// Phase levels: the nodes to schedule, in id order (chained nodes are
    /// left out; they run with their chain's root).
    var levels: [[NodeID]] = []
    /// Per chain root: the nodes chained below it, in topological order.
    var chained: [NodeID: [NodeID]] = [:]
    /// Chained nodes computed in place (Note [In-place chains]): the node
    /// whose buffer each one takes over.
    var inPlace: [NodeID: NodeID] = [:]
    /// Nodes whose gradient is computed in place (Note [In-place
    /// gradients]): the unary consumer whose gradient buffer each one uses.
    var gradientInPlace: [NodeID: NodeID] = [:]
    /// Per node: the index of its level in `PlanBuilder.levels` (-1: none).
    var levelOf: [Int] = []
    /// Nodes whose VJPs join a later level's fused block (Note [Fused
    /// backward]): the index of that level.
    var joins: [NodeID: Int] = [:]
    /// The levels (indices) whose VJPs run as fused blocks.
    var blocks = Set<Int>()
    /// Nodes computed in place over by their consumer though a VJP reads
    /// them: their block recomputes them (Note [Store or recompute]).
    var recomputed = Set<NodeID>()
}

extension PlanBuilder {
    /// The most nodes in one chain, its root included. Every member's value
    /// is live across all of the chain's chunks (they interleave), so a
    /// long chain would keep that many buffers at once where unchained
    /// nodes reuse a few (`buffersAreReusedByLiveness`: 50 adds); longer
    /// runs start a new chain. Until fused intermediates need no buffer
    /// (Note [Fusion]), this bounds the arena.
    static var maxChainLength: Int { 8 }

    /// Forms the chains (Note [Fusion], Note [Chunk chains]) and counts them.
    mutating func fuse() {
        let (levels, chained, parentInChain) = chunkChains()
        var levelOf = [Int](repeating: -1, count: graph.count)
        for (l, level) in self.levels.enumerated() { for i in level { levelOf[i] = l } }
        let joins = fusedBackwardJoins(levelOf: levelOf)
        let blocks = Set(joins.values)
        var inPlace: [NodeID: NodeID] = [:]
        var recomputed = Set<NodeID>()
        for k in graph.topologicalOrder {
            guard let p = parentInChain[k] else { continue }
            if canOverwrite(p, by: k) {
                inPlace[k] = p
            } else if canRecompute(
                p, for: k, inPlace: inPlace, joins: joins, levelOf: levelOf)
            {
                inPlace[k] = p
                recomputed.insert(p)
            }
        }
        var gradientInPlace: [NodeID: NodeID] = [:]
        if options.fusion && hasBackwardPass {
            for k in graph.topologicalOrder where cone[k] {
                if let p = gradientParent(of: k) { gradientInPlace[p] = k }
            }
        }
        fusion = FusionGroups(
            levels: levels, chained: chained, inPlace: inPlace, gradientInPlace: gradientInPlace,
            levelOf: levelOf, joins: joins, blocks: blocks, recomputed: recomputed)
        statistics.fusedBackwardBlocks = blocks.count
        statistics.fusedBackwardNodes = joins.count
        statistics.recomputedValues = recomputed.count
        statistics.inPlaceValues = inPlace.count
        statistics.inPlaceGradients = gradientInPlace.count
        statistics.fusedGroups = chained.count
        statistics.fusedNodes = chained.values.reduce(0) { $0 + $1.count }
        statistics.fusedEpilogues =
            chained.keys.filter {
                if case .matmul = kernels[$0] { true } else { false }
            }.count
    }

    /// Note [Chunk chains]
    /// An elementwise node k whose newest parent j computes its output by
    /// element ranges runs each of its chunks right after j's chunk of the
    /// same range, in the same task, while that range is still in cache
    /// (S3's mul → add → tanh streams each vector once instead of three
    /// times). k joins j's phase level; this is safe because k reads only
    /// element e of j, j's chunk e-range is written just before, and k's
    /// other parents (read at any position: a broadcast bias) are all from
    /// strictly earlier phase levels. j may also be a matrix product, whose
    /// chunks are whole rows: then k's chunk is those rows' elements, and
    /// a bias add and activation run on each block of rows as the product
    /// leaves it (an epilogue in cache, and one phase per layer instead of
    /// two: fewer barriers per training step).
    /// Chunk ranges are j's (the chain root's), a function of the plan only,
    /// and k computes each element whole, so the bits do not change.
    /// The backward pass keeps the true levels.
    ///
    /// - Returns: the forward phase levels (nodes to schedule, in id order;
    ///   chained nodes are left out of them) and, per chain root, the nodes
    ///   chained below it in topological order.
    func chunkChains() -> (
        levels: [[NodeID]], chained: [NodeID: [NodeID]], parentInChain: [NodeID: NodeID]
    ) {
        let n = graph.count
        var phaseLevel = [Int](repeating: 0, count: n)
        var root = [Int](repeating: -1, count: n)
        var chained: [NodeID: [NodeID]] = [:]
        var parentInChain: [NodeID: NodeID] = [:]
        var levels: [[NodeID]] = []
        for k in graph.topologicalOrder where cone[k] && !graph.op(of: k).isLeaf {
            let parents = graph.parents(of: k)
            var top = -1
            var topLevel = -1
            var unique = true
            for p in parents {
                if phaseLevel[p] > topLevel {
                    topLevel = phaseLevel[p]
                    top = p
                    unique = true
                } else if phaseLevel[p] == topLevel && p != top {
                    unique = false
                }
            }
            if options.fusion, unique, top >= 0, !graph.op(of: top).isLeaf,
                kernels[k].forwardUnitsAreElements,
                parents.enumerated().allSatisfy({ slot, p in
                    p != top || kernels[k].readsElementwise(slot: slot)
                }),
                kernels[top].elementsPerForwardUnit != nil || root[top] >= 0,
                graph.shape(of: top) == graph.shape(of: k),
                (chained[root[top] >= 0 ? root[top] : top]?.count ?? 0) + 1 < Self.maxChainLength
            {
                phaseLevel[k] = topLevel
                let r = root[top] >= 0 ? root[top] : top
                root[k] = r
                chained[r, default: []].append(k)
                parentInChain[k] = top
                continue
            }
            phaseLevel[k] = topLevel + 1
            while levels.count < phaseLevel[k] { levels.append([]) }
            levels[phaseLevel[k] - 1].append(k)
        }
        return (levels.map { $0.sorted() }.filter { !$0.isEmpty }, chained, parentInChain)
    }

    /// Note [In-place chains]
    /// A chained node k reads its chain parent p only at the element it
    /// writes (the chain's condition), right after p's chunk is written.
    /// When nothing else ever reads p's value — k is p's only consumer, p
    /// is not the output, and no VJP the plan runs reads it (neither p's
    /// own, which may read its output, nor k's, which may read its inputs)
    /// — k computes into p's buffer: each element is read, then
    /// overwritten by the same kernel step (every chainable kernel reads
    /// element e before writing e; the vector math allows x == y). p then
    /// needs no buffer of its own: S3's mul → add → tanh and an MLP layer's
    /// product → bias → ReLU each live in one buffer, the chunk in cache
    /// is the tile their intermediates pass through, and memory sees one
    /// value written instead of three. Nothing is computed differently, so
    /// the bits are those of the unfused plan; only `Execution.value(of:)`
    /// of p (an intermediate, which liveness may reuse anyway) now shows
    /// k's value.
    /// Note [In-place gradients]
    /// A unary node k (tanh, ReLU, exp, …) reads its gradient only in its
    /// own VJP, element e to write element e of its parent p's gradient.
    /// When that is p's only contribution — k is p's only consumer, and p
    /// is not a leaf (whose gradient callers read) — p's gradient takes
    /// over k's buffer: the VJP overwrites g in place (each element read
    /// before it is written, in the same kernel step; `VJPTarget
    /// .storeEach(fromG:)` and ReLU's C loop keep that vectorised), and p's
    /// VJPs, a level later, read it there. An MLP layer's ReLU and S3's
    /// tanh pass their gradient down without a buffer of its own: the
    /// backward pass's arena peak falls (S3: every third intermediate
    /// gradient). The values are computed as before, so the bits are the
    /// unfused plan's.
    ///
    /// - Returns: k's parent when its gradient can be computed in place
    ///   over k's, else `nil`.
    func gradientParent(of k: NodeID) -> NodeID? {
        guard case .unary = kernels[k], k != graph.output, requiresGradient[k],
            kernels[k].hasGradient(slot: 0), let p = graph.parents(of: k).first,
            requiresGradient[p], !graph.op(of: p).isLeaf,
            graph.shape(of: p) == graph.shape(of: k),
            graph.children(of: p).allSatisfy({ $0 == k || !cone[$0] })
        else { return nil }
        return p
    }

    func canOverwrite(_ p: NodeID, by k: NodeID) -> Bool {
        guard canOverwriteStructurally(p, by: k) else { return false }
        if hasBackwardPass {
            if requiresGradient[p] && kernels[p].vjpReads.output { return false }
            if requiresGradient[k] && kernels[k].vjpReads.inputs { return false }
        }
        return true
    }

    /// Whether k may compute over p's buffer as far as the forward pass is
    /// concerned: k is p's only consumer, and neither is a leaf or the output.
    func canOverwriteStructurally(_ p: NodeID, by k: NodeID) -> Bool {
        // The output's buffer is permanent (callers read it between runs).
        guard p != graph.output, k != graph.output, !graph.op(of: p).isLeaf else { return false }
        return graph.children(of: p).allSatisfy({ $0 == k || !cone[$0] })
    }
}
