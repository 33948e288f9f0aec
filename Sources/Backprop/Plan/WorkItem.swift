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
        /// A fused block's chunk `lo..<hi` (Note [Fused backward]): the next
        /// `sourceCount` items run on it tile by tile, `sourceStart`
        /// elements at a time, each item on a tile before any on the next.
        case tile
        /// Inside a fused block: `node`'s forward value on the tile, into
        /// the block's scratch slot `slot` (Note [Store or recompute]); the
        /// block's VJPs read it there.
        case recompute
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
