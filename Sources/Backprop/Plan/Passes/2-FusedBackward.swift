// Pass 2, backward half: which VJPs run together, tile by tile, in one
// fused block (Note [Fused backward]), and which forward values the block
// recomputes instead of storing (Note [Store or recompute]).

// Note [Fused backward]
// Unfused, each backward level is its own phase: S3's tanh, add and mul
// VJPs are three passes over memory per layer, each writing a gradient
// the next one reads back. A fused block runs several levels' VJPs as one
// phase, chunk by chunk and, inside a chunk, tile by tile (a few KB per
// buffer, `FusedBackward.tileLength`): every item of the block runs on one
// tile before any runs on the next, so an intermediate gradient is written
// and read back while it is in cache.
//
// A node p *joins* the level of its consumer j (is hoisted into j's
// block) when p's gradient comes from j alone (j is p's only consumer),
// and both are element nodes (unary, copy, or binary without
// broadcasting): then element e of p's gradient needs only element e of
// j's, which the same tile computed just before. Joining is transitive
// (S3: mul joins add, add joins tanh). A level becomes a block when
// something joins it and every node of the level that needs a gradient
// is an element node of the same size; the block's items run in the
// unfused order — true level descending, then node id, then argument.
//
// The bits stay the unfused plan's (`FusionTests` compares every
// gradient bitwise). A gradient sums its contributions in a fixed order
// (Note [Determinism]); unfused, that is by level, then child and
// argument, added one after another (grouped edges, Note [Grouped
// edges]) or through partial buffers and a join when some edge of a level
// is not elementwise. A block keeps that order for every gradient it
// writes as long as (a) no contribution from outside the block comes from
// a level between the block's contributions, and (b) no level that
// contributes to such a gradient goes through partial buffers (whose join
// associates differently). Where a link would break either, the chain
// is cut there (the node runs on its own level or in a lower block), and
// so are links into a level that cannot hold a block, until none does.
//
// Measured (Zen 3, 32 MB L3, docs/scheduling.md): fused blocks are no
// faster than the level-by-level backward pass, so they are off by
// default (`PlanOptions.fusedBackward`). S3's backward took 33.8–35.2 ms
// unfused against 35.8–39.1 with tiles of 8,192 elements and 49.6–54.6
// with tiles of 2,048 (one thread, best of 15 runs, alternating), though
// its planned traffic falls from 834 to 543 MB: the unfused pass's
// intermediates (a level's gradients, 4 MB per kind for S3) come back
// from the last-level cache rather than memory, and a block's items
// stream shorter stretches of many more buffers at a time. Narrow levels
// over 16 MB vectors did not gain either (two chains per level: 345 ms
// unfused against 382–396 fused; one: 193 against 231).
//
// Note [Store or recompute]
// A forward chain computes a node in place over its parent (Note
// [In-place chains]) only when no VJP reads the parent's value — unless
// the parent is cheap to compute again: when the parent p and its
// consumer k sit in one fused block, p costs at most
// `FusedBackward.recomputeCost` element-operations per element (an add,
// a multiply, ReLU, a square root), and p's own inputs keep their buffers
// (p was not itself computed in place), then the forward pass overwrites
// p and the block recomputes p's tile into scratch before its VJPs run:
// one cheap operation per element against a store and a load of a whole
// buffer from memory. Costlier values (exp, tanh: 8) are stored. The
// recomputation is the same kernel on the same elements, and those
// operations round exactly, so the bits do not change.
// `PlanStatistics.recomputedValues` counts these nodes.

/// Which nodes join which consumer's block while the blocks are decided:
/// a node runs its VJPs in the block of the last node of its chain of
/// links (its head), at the head's level (its phase).
private struct BlockOrder {
    /// Per linked node: the consumer whose block it joins.
    var link: [NodeID: NodeID]
    let levelOf: [Int]

    func head(of p: NodeID) -> NodeID {
        var h = p
        while let next = link[h] { h = next }
        return h
    }

    /// The level whose phase runs p's VJPs.
    func phase(of p: NodeID) -> Int { levelOf[head(of: p)] }

    /// Cuts p's chain where it would first rise above level `bound`, so
    /// that p's phase is at most `bound` (p's own level is).
    mutating func cut(below p: NodeID, atMostLevel bound: Int) {
        var member = p
        while let next = link[member], levelOf[next] <= bound { member = next }
        link[member] = nil
    }
}

/// The planner's decisions for the backward pass's fused blocks.
enum FusedBackward {
    /// Elements per tile (and the fewest per chunk): each item of a block
    /// runs on one tile before any runs on the next. The best of 512,
    /// 1,024, 2,048 and 8,192 measured on S3 (Note [Fused backward]): short
    /// tiles restart every buffer's stream too often. A multiple of 16, so
    /// tiles split chunks only where chunks may split (Note [Vector math
    /// chunk independence]).
    static let tileLength = 8192
    /// The most element-operations per element that a value may cost to be
    /// recomputed instead of stored (Note [Store or recompute]).
    static let recomputeCost = 2
}

extension PlanBuilder {
    /// Whether node `i` is an element node: it needs a gradient, and its
    /// forward value and every VJP take element e from element e only
    /// (unary, copy, or binary with both operands of its shape).
    func isElementNode(_ i: NodeID) -> Bool {
        guard cone[i], requiresGradient[i], !graph.op(of: i).isLeaf else { return false }
        switch kernels[i] {
        case .copy, .unary: return true
        case .binary(_, let b): return b.same
        default: return false
        }
    }

    /// Decides the fused blocks (Note [Fused backward]).
    ///
    /// - Returns: per node that joins a later level's block, the index
    ///   (into `levels`) of that level; the levels these name are the
    ///   blocks.
    /// - Parameter levelOf: per node, the index of its level in `levels`.
    func fusedBackwardJoins(levelOf: [Int]) -> [NodeID: Int] {
        guard options.fusion && options.fusedBackward && hasBackwardPass else { return [:] }
        // A level can hold a block when every node of it that needs a
        // gradient is an element node, all of one size.
        let canHoldBlock = levels.map { level in
            let needing = level.filter { requiresGradient[$0] }
            return needing.allSatisfy(isElementNode)
                && Set(needing.map { graph.shape(of: $0).count }).count == 1
        }
        // Each link: a node joins its only consumer's block.
        var link: [NodeID: NodeID] = [:]
        for p in graph.topologicalOrder where p != graph.output && isElementNode(p) {
            if let j = onlyConsumer(of: p), isElementNode(j) { link[p] = j }
        }
        var order = BlockOrder(link: link, levelOf: levelOf)
        // Cut links into heads at levels that cannot hold a block, until
        // every chain's head is at one that can; then a link that would
        // change a gradient's summation order, and again.
        while true {
            var cutSome = true
            while cutSome {
                cutSome = false
                for (p, j) in order.link where order.link[j] == nil && !canHoldBlock[levelOf[j]] {
                    order.link[p] = nil
                    cutSome = true
                }
            }
            let outOfOrder = contributionsOutOfOrder(order)
            if outOfOrder.isEmpty { break }
            for (c, bound) in outOfOrder { order.cut(below: c, atMostLevel: bound) }
        }
        var joins: [NodeID: Int] = [:]
        for p in order.link.keys { joins[p] = levelOf[order.head(of: p)] }
        return joins
    }

    /// The node's one consumer in the output's cone (which may use it in
    /// several arguments), or `nil`.
    func onlyConsumer(of p: NodeID) -> NodeID? {
        var found: NodeID?
        for c in graph.children(of: p) where cone[c] {
            if found != nil && found != c { return nil }
            found = c
        }
        return found
    }

    /// Per gradient, a contribution that, as linked, would run out of the
    /// unfused order of that gradient's contributions (Note [Fused
    /// backward], (a) and (b)), and the highest level its block may be at.
    private func contributionsOutOfOrder(_ order: BlockOrder) -> [(NodeID, Int)] {
        var found: [(NodeID, Int)] = []
        for q in 0..<graph.count where requiresGradient[q] {
            if let c = contributionOutOfOrder(into: q, order) { found.append(c) }
        }
        return found
    }

    /// A contribution to q's gradient that would run out of order, and the
    /// highest level its block may be at; `nil` when there is none.
    private func contributionOutOfOrder(into q: NodeID, _ order: BlockOrder) -> (NodeID, Int)? {
        // q's contributions in the unfused order: level descending,
        // then child, then argument.
        var contributions: [(level: Int, child: NodeID)] = []
        for c in Set(graph.children(of: q)) where cone[c] && requiresGradient[c] {
            for (k, p) in graph.parents(of: c).enumerated()
            where p == q && kernels[c].hasGradient(slot: k) {
                contributions.append((order.levelOf[c], c))
            }
        }
        guard contributions.contains(where: { order.link[$0.child] != nil }) else { return nil }
        contributions.sort { ($0.level, -$0.child) > ($1.level, -$1.child) }
        // (a): the phase each contribution runs in never rises along
        // the unfused order.
        var last = Int.max
        for c in contributions {
            let phase = order.phase(of: c.child)
            if phase > last { return (c.child, last) }
            last = phase
        }
        // (b): a level that joins q's contributions through partials
        // keeps all of them.
        let levels = Dictionary(grouping: contributions, by: \.level)
        for level in levels.keys.sorted(by: >) {
            let group = levels[level]!
            guard group.count > 1, !group.allSatisfy({ kernels[$0.child].vjpUnitsAreElements })
            else { continue }
            if let c = group.first(where: { order.link[$0.child] != nil }) {
                return (c.child, c.level)
            }
        }
        return nil
    }

    /// Whether chained node k may overwrite its parent p by recomputing p
    /// in their fused block (Note [Store or recompute]). `inPlace`: the
    /// decisions so far, for nodes before k.
    func canRecompute(
        _ p: NodeID, for k: NodeID, inPlace: [NodeID: NodeID], joins: [NodeID: Int],
        levelOf: [Int]
    ) -> Bool {
        guard canOverwriteStructurally(p, by: k), inPlace[p] == nil,
            isElementNode(p), isElementNode(k),
            kernels[p].forwardUnits(outputCount: 1).cost <= FusedBackward.recomputeCost,
            let lp = joins[p]
        else { return false }
        // p joined a block (level lp); k must run in the same one.
        return lp == (joins[k] ?? levelOf[k])
    }
}
