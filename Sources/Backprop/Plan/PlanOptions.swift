/// How a ``Plan`` splits work. The defaults suit small and large graphs
/// alike; every choice is a function of the graph and these options only —
/// never of the thread count — which is what makes results bitwise
/// identical for any number of threads (see `// Note [Determinism]`).
public struct PlanOptions: Sendable, Equatable {
    /// Whether to compile the backward pass (gradients) or the forward pass only.
    public var gradients: Bool
    /// The target cost of one chunk, in element-operations (Note [Cost
    /// units]). A node costing more is split into several chunks.
    public var grain: Int
    /// Levels cheaper than this (in element-operations, Note [Cost units])
    /// run as one task on one worker, and runs of such levels merge into
    /// one serial segment: handing work to another core would cost more
    /// than it saves. 262,144 by default.
    public var inlineThreshold: Int
    /// The most chunks one node is split into.
    public var maxChunksPerNode: Int
    /// Whether large matrix products go to OpenBLAS when it is found (see
    /// ``Runtime/blasDescription``). Off by default (on when the process
    /// runs with `BACKPROP_BLAS=on`): the package's own kernel, level with
    /// OpenBLAS on the workloads, computes every product, so results are
    /// bitwise identical whether or not OpenBLAS is installed (Note [Own
    /// kernel by default]). With OpenBLAS results differ in the last bits
    /// from the own kernel's, and still do not depend on the thread count.
    public var useBLAS: Bool
    /// Whether the planner fuses nodes into groups that run chunk by chunk
    /// in one task (`// Note [Fusion]`). On by default; fused and unfused
    /// plans give the same bits.
    public var fusion: Bool
    /// Whether the backward pass fuses too: VJPs of several levels run
    /// tile by tile in one block, recomputing cheap values instead of
    /// storing them (`// Note [Fused backward]`, `// Note [Store or
    /// recompute]`). Off by default: on the machines measured it was no
    /// faster than the level-by-level backward pass (docs/scheduling.md).
    /// Requires ``fusion``; the bits are those of the unfused plan.
    public var fusedBackward: Bool
    /// Whether a graph of scalar nodes lowers to a flat tape run on the
    /// calling thread (see `// Note [Scalar tape]`).
    public var scalarTape: Bool
    /// The optimizer that ``Execution/step(on:)`` applies after the
    /// backward pass, or `nil` for a plan that only computes values and
    /// gradients.
    ///
    /// A training plan appends update phases to the backward pass
    /// (`// Note [Optimizer phases]`) and keeps the optimizer's state in
    /// the arena. It differentiates with respect to parameters only: inputs
    /// are data, and get no gradient (``Execution/gradient(of:)`` returns
    /// `nil` for them). An optimizer implies ``gradients``. Its
    /// hyperparameters are the starting values of every execution's;
    /// executions may change them between steps without recompiling.
    public var optimizer: Optimizer?

    /// Creates plan options.
    public init(
        gradients: Bool = true, grain: Int = 16_384, inlineThreshold: Int = 262_144,
        maxChunksPerNode: Int = 64, useBLAS: Bool? = nil, scalarTape: Bool = true,
        fusion: Bool = true, fusedBackward: Bool = false, optimizer: Optimizer? = nil
    ) {
        self.fusion = fusion
        self.fusedBackward = fusedBackward
        self.optimizer = optimizer
        self.useBLAS = useBLAS ?? BLAS.preferredByDefault
        self.scalarTape = scalarTape
        self.gradients = gradients
        self.grain = Swift.max(1, grain)
        self.inlineThreshold = Swift.max(0, inlineThreshold)
        self.maxChunksPerNode = Swift.max(1, maxChunksPerNode)
    }

    /// Whether the plan has a backward pass: asked for, or implied by an optimizer.
    var computesGradients: Bool { gradients || optimizer != nil }

    /// Whether a plan with these options differentiates with respect to a
    /// node computing `op`: inputs and parameters, or parameters only in a
    /// training plan (its inputs are data).
    func differentiates(_ op: Op) -> Bool {
        switch op {
        case .parameter: true
        case .input: optimizer == nil
        default: false
        }
    }
}
