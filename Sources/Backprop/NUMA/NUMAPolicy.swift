/// Where each kind of buffer goes.
///
/// Note [NUMA placement]
/// On a machine with several NUMA nodes a thread reads memory on its own
/// node faster (and without crossing the interconnect) than memory on
/// another, so buffers are placed by who writes and who reads them:
///
/// - Per-worker partial buffers and per-node scratch are node-local: a
///   worker writes its partials all through a level's backward pass, and
///   only the join reads them once. They come from the arena of the
///   worker's node.
/// - Values (and gradients) produced by a chunk live on the node of the
///   worker that produces them: the producer writes every element, the
///   consumers of the next level read it once. Dispatch cannot pin threads
///   to CPUs, so a worker finds its node when it starts, from
///   `sched_getcpu` and the topology (``NUMASystem/currentNode()``); a
///   thread that migrates later only costs speed, never correctness.
/// - Read-mostly parameters are interleaved page by page over all nodes:
///   every node's workers read them, so spreading the pages spreads the
///   bandwidth instead of making one node's memory the hot spot. With one
///   node there is nothing to spread, and they go to that node.
/// - Every region is 64-byte aligned (a cache line) inside blocks of whole
///   pages, and each node has its own blocks, so no page is shared between
///   nodes and no cache line between regions.
/// - Node ids are validated against the topology before anything is
///   allocated: libnuma silently places memory elsewhere for an invalid
///   node (printing `mbind: Invalid argument`), which would make a wrong
///   placement invisible.
///
/// Placement changes where bytes live, never which bytes are computed:
/// results are bitwise identical with NUMA on, off or simulated. Placement
/// is verified with `move_pages` in query mode (see ``NUMASystem/pageStatus(of:)``),
/// not with timings.
enum NUMAPolicy {
    /// The placement of a buffer of `role` written by a worker on
    /// `workerNode` (see Note [NUMA placement]).
    static func placement(
        for role: BufferRole, workerNode: Int, topology: NUMATopology
    ) -> NUMAPlacement {
        switch role {
        case .value, .gradient, .partial:
            return .node(workerNode)
        case .parameter:
            return topology.nodes.count > 1 ? .interleaved : .node(topology.nodes[0].id)
        }
    }
}
