/// What the plan compiler produced, for observability and tests.
public struct PlanStatistics: Sendable, Equatable {
    /// Levels with work (leaves excluded), forward.
    public var levels = 0
    /// Phases (separated by joins), forward and backward.
    public var forwardPhases = 0, backwardPhases = 0
    /// Phases of optimizer updates after the backward pass (0 without an optimizer).
    public var updatePhases = 0
    /// Phases run by one worker (serial segments and inline levels).
    public var serialPhases = 0
    /// Blocks (a level's items, or its joins) appended to serial phases.
    public var serialLevels = 0
    /// Tasks and work items in all phases.
    public var tasks = 0, items = 0
    /// Whether the graph was lowered to a scalar tape (then there are no phases).
    public var scalarTape = false
    /// Fused groups (chunk chains, Note [Fusion]): how many, the nodes
    /// chained below their roots, and the groups rooted at a matrix
    /// product (epilogues).
    public var fusedGroups = 0, fusedNodes = 0, fusedEpilogues = 0
    /// Chained nodes computed in place, in their chain parent's buffer
    /// (Note [In-place chains]): intermediates with no buffer of their own.
    public var inPlaceValues = 0
    /// Gradients computed in place over a unary consumer's (Note [In-place
    /// gradients]): intermediate gradients with no buffer of their own.
    public var inPlaceGradients = 0
    /// Fused backward blocks (Note [Fused backward]): levels whose VJPs run
    /// tile by tile together with those of the nodes that joined them, and
    /// how many nodes joined a later level's block.
    public var fusedBackwardBlocks = 0, fusedBackwardNodes = 0
    /// Values recomputed by a fused block instead of stored (Note [Store or
    /// recompute]): computed in place over in the forward pass, though a
    /// VJP reads them.
    public var recomputedValues = 0
    /// Planned memory traffic of each pass, in bytes: per phase, every
    /// buffer an item of the phase reads or writes, counted once and whole
    /// (Note [Planned traffic]); forward, backward and the optimizer's update.
    public var forwardBytes = 0, backwardBytes = 0, updateBytes = 0
    /// Edges that share chunks with other edges into the same gradient
    /// (computed one after another in one task; no partial buffer).
    public var groupedEdges = 0
    /// Edges whose contributions go through a partial buffer and a join.
    public var partialEdges = 0
    /// The arena's size in elements, and what it would be without reuse.
    public var arenaElements = 0, unsharedElements = 0
    /// How long compiling took.
    public var compileNanoseconds = 0
}
