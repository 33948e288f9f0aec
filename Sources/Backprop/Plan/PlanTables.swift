/// What the planner produced for one graph: the tables a pass reads, at
/// stable addresses (see ``FrozenArray``), and their counts. Offsets are
/// arena offsets in elements. Built once by ``PlanBuilder`` (its last pass,
/// or the scalar-tape lowering) and held by the ``Plan``.
struct PlanTables: Sendable {
    /// Per node: its op compiled for its shapes (empty for a scalar tape).
    let kernels: FrozenArray<NodeKernel>
    /// Per node: the value's offset in the arena (-1: never evaluated).
    let valueOffset: FrozenArray<Int>
    /// Per node: the gradient's offset (-1: none).
    let gradientOffset: FrozenArray<Int>
    /// Per node: scratch offset (-1: none).
    let auxOffset: FrozenArray<Int>
    /// The graph's parent lists (compressed sparse rows).
    let parentStart: FrozenArray<Int>
    /// Parallel to the graph's parent lists: each parent's value offset.
    let parentValueOffsets: FrozenArray<Int>
    /// Parallel to the graph's parent lists: where the edge's contribution goes.
    let edgeDest: FrozenArray<Int>
    let edgeAccumulate: FrozenArray<Bool>
    /// The cotangent fed into the output's gradient (ones unless set).
    let cotangentOffset: Int
    let arenaCount: Int
    let items: FrozenArray<WorkItem>
    let joinSources: FrozenArray<Int>
    /// Tasks are ranges of items; phases are ranges of tasks.
    let taskStart: FrozenArray<Int>
    let phaseStart: FrozenArray<Int>
    let phaseCount: Int
    var taskCount: Int { taskStart.count - 1 }
    /// Phases before this index are forward phases.
    let forwardPhaseCount: Int
    /// Phases from this index on are update phases (the optimizer's, run
    /// by ``Execution/step(on:)`` only); `phaseCount` without an optimizer.
    let updatePhaseStart: Int
    /// Per node: the optimizer state's offset (-1: none). `stateCount`
    /// elements per parameter element, interleaved.
    let stateOffset: FrozenArray<Int>
    /// The parameter nodes, in id order (every one has a value slot).
    let parameters: [NodeID]
    /// Whether any phase has more than one task (else a pass runs inline).
    let isParallel: Bool
    /// Elements of scratch one worker needs for the largest fused block's
    /// recomputed tiles (Note [Store or recompute]); 0 without any.
    let fusedBlockScratch: Int
    /// Leaves with a value slot (inputs, parameters, constants in use).
    let leaves: [NodeID]
    /// The lowered form of an all-scalar graph, run instead of phases.
    let tape: ScalarTape?
    /// Every buffer's place in the arena and role, and the elements each
    /// item writes: what an execution places on NUMA nodes (Note [Arena placement]).
    let bufferSpans: [BufferSpan]
    /// Per item: the arena elements it writes, `start..<end` (empty for a
    /// custom op's VJP, which writes several buffers).
    let itemWrites: [Range<Int>]

    /// Freezes the planner's arrays; the phase count and `isParallel`
    /// follow from `phaseStart`.
    init(
        kernels: [NodeKernel], valueOffset: [Int], gradientOffset: [Int], auxOffset: [Int],
        parentStart: [Int], parentValueOffsets: [Int], edgeDest: [Int], edgeAccumulate: [Bool],
        cotangentOffset: Int, arenaCount: Int, items: [WorkItem], joinSources: [Int],
        taskStart: [Int], phaseStart: [Int], forwardPhaseCount: Int, updatePhaseStart: Int,
        stateOffset: [Int], parameters: [NodeID], leaves: [NodeID], tape: ScalarTape?,
        bufferSpans: [BufferSpan], itemWrites: [Range<Int>]
    ) {
        self.kernels = FrozenArray(kernels)
        self.valueOffset = FrozenArray(valueOffset)
        self.gradientOffset = FrozenArray(gradientOffset)
        self.auxOffset = FrozenArray(auxOffset)
        self.parentStart = FrozenArray(parentStart)
        self.parentValueOffsets = FrozenArray(parentValueOffsets)
        self.edgeDest = FrozenArray(edgeDest)
        self.edgeAccumulate = FrozenArray(edgeAccumulate)
        self.cotangentOffset = cotangentOffset
        self.arenaCount = arenaCount
        self.items = FrozenArray(items)
        self.joinSources = FrozenArray(joinSources)
        self.taskStart = FrozenArray(taskStart)
        self.phaseStart = FrozenArray(phaseStart)
        phaseCount = phaseStart.count - 1
        self.forwardPhaseCount = forwardPhaseCount
        self.updatePhaseStart = updatePhaseStart
        self.stateOffset = FrozenArray(stateOffset)
        self.parameters = parameters
        isParallel = zip(phaseStart, phaseStart.dropFirst()).contains { $1 - $0 > 1 }
        var scratch = 0
        for (k, item) in items.enumerated() where item.kind == .tile {
            let recomputes = items[(k + 1)...].prefix { $0.kind == .recompute }.count
            scratch = Swift.max(scratch, recomputes * Int(item.sourceStart))
        }
        fusedBlockScratch = scratch
        self.leaves = leaves
        self.tape = tape
        self.bufferSpans = bufferSpans
        self.itemWrites = itemWrites
    }
}
