/// Builds a ``Plan``'s tables: a pipeline of passes over one graph, each in
/// its own file under `Plan/Passes/`, numbered in the order ``build()``
/// runs them. A value type used once per compile.
///
/// The passes share their state through a few small types, each owning
/// one concern: ``PhaseSchedule`` (items, tasks, phases and the timeline
/// they run on), ``BufferTable`` (every buffer's size, role and lifetime,
/// and the arena layout), ``NodeBuffers`` (which buffer holds each node's
/// value, gradient, scratch and optimizer state) and ``EdgeTable`` (where
/// each edge's contribution goes).
struct PlanBuilder<T: TensorElement> {
    let graph: Graph<T>
    let options: PlanOptions
    /// The parameter nodes, in id order.
    let parameters: [NodeID]
    /// Per node: whether the output depends on it (what a pass evaluates).
    let cone: [Bool]
    var statistics = PlanStatistics()

    // 1-Kernels.
    /// Per node: its op compiled for its shapes (`.leaf` outside the cone).
    var kernels: [NodeKernel] = []
    /// The nodes that compute something, by level (leaves and empty levels left out).
    var levels: [[NodeID]] = []
    /// Per node: whether it needs a gradient.
    var requiresGradient: [Bool] = []

    // 2-Fusion.
    /// The forward phase levels and the chains (Note [Fusion]).
    var fusion = FusionGroups()

    // 3-NodeBuffers and every pass that adds a buffer.
    var buffers = BufferTable()
    var nodeBuffers: NodeBuffers
    /// Leaves with a value slot (inputs, parameters, constants in use).
    var leaves: [NodeID] = []

    // 4-ForwardSchedule, 5-BackwardSchedule, 6-UpdatePhases.
    var phases: PhaseSchedule
    var edges: EdgeTable
    /// Join sources (buffer ids), in item order: a join reads a range of them.
    var joinSources: [Int] = []
    /// Phases before this index are forward phases.
    var forwardPhaseCount = 0
    /// Phases from this index on are update phases.
    var updatePhaseStart = 0

    init(graph: Graph<T>, options: PlanOptions) {
        self.graph = graph
        self.options = options
        parameters = (0..<graph.count).filter {
            if case .parameter = graph.op(of: $0) { true } else { false }
        }
        cone = graph.isInOutputCone
        nodeBuffers = NodeBuffers(nodeCount: graph.count)
        phases = PhaseSchedule(options: options)
        edges = EdgeTable(edgeCount: graph.table.parentList.count)
    }

    /// Runs the passes in order and returns the plan's tables.
    mutating func build() -> (tables: PlanTables, statistics: PlanStatistics) {
        if options.scalarTape, let tape = lowerToTape() { return tape }  // 0-TapeLowering
        compileKernels()  // 1-Kernels
        markGradientRequirement()
        fuse()  // 2-Fusion: chunk chains (Note [Fusion])
        allocateNodeBuffers()  // 3-NodeBuffers
        scheduleForward()  // 4-ForwardSchedule: chunks, chains glued, two-stage reductions
        if hasBackwardPass {
            scheduleBackward()  // 5-BackwardSchedule: grouped edges, partials, joins
            if let optimizer = options.optimizer { scheduleUpdates(optimizer) }  // 6-UpdatePhases
        }
        recordLifetimes()  // 7-ArenaLayout: lifetimes, then places by liveness
        recordPlannedTraffic()
        let layout = buffers.layout()
        return resolveOffsets(layout)  // 8-Offsets: offsets, placement spans
    }

    /// Whether the plan differentiates: asked to, and the output depends on
    /// something that needs a gradient.
    var hasBackwardPass: Bool { options.computesGradients && requiresGradient[graph.output] }
}
