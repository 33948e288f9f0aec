/// One unit of scheduled work: a range of one node's forward or VJP work
/// units, a join, or the seeding or zeroing of a gradient.
struct WorkItem: Sendable {
    enum Kind: UInt8, Sendable {
        /// Forward units `lo..<hi` of `node`.
        case forward
        /// Partials of a two-stage reduction: units are (output, block)
        /// pairs; `dest` is the partial buffer, `sourceCount` the blocks.
        case reducePartial
        /// Outputs `lo..<hi` of a two-stage reduction, folded from its partials.
        case reduceCombine
        /// VJP units `lo..<hi` of argument `slot` of `node`, into `dest`.
        case vjp
        /// A custom op's VJP for all arguments, into each edge's destination.
        case customVJP
        /// dest[lo..<hi] (+)= Σ sources[lo..<hi], in source order.
        case join
        /// dest (the output's gradient) = the cotangent buffer.
        case seed
        /// dest[lo..<hi] = 0 (a gradient that receives no contribution).
        case zero
        /// Elements `lo..<hi` of parameter `node` (its value at `dest`)
        /// updated by the optimizer from its gradient and state
        /// (Note [Optimizer phases]).
        case update
    }
    var kind: Kind
    var node: Int32
    var slot: Int32
    var accumulate: Bool
    var lo: Int
    var hi: Int
    /// A buffer id while planning, an arena offset afterwards.
    var dest: Int
    /// Join sources: a range of `Plan.joinSources`.
    var sourceStart: Int32
    var sourceCount: Int32
}
