/// One ``NodeArena`` per node of a system's topology, plus one interleaved
/// arena for parameters, with ``NUMAPolicy`` choosing between them.
///
/// ```swift
/// let arenas = try NUMAArenas(system: NUMA.makeSystem(environment: environment))
/// let partials = try arenas.allocate(byteCount: 4096, role: .partial, workerNode: 1)
/// let weights = try arenas.allocate(byteCount: 1 << 20, role: .parameter, workerNode: 0)
/// print(arenas.report)
/// ```
final class NUMAArenas: Sendable {
    let system: any NUMASystem
    private let nodeArenas: [Int: NodeArena]
    private let interleavedArena: NodeArena

    /// Empty arenas for every node of `system`'s topology (blocks are
    /// obtained on first use).
    init(system: any NUMASystem, minimumBlockSize: Int = NodeArena.defaultBlockSize) {
        self.system = system
        var arenas: [Int: NodeArena] = [:]
        for id in system.topology.nodeIDs {
            // The ids come from the topology, so they are valid.
            arenas[id] = try! NodeArena(
                system: system, placement: .node(id), minimumBlockSize: minimumBlockSize)
        }
        nodeArenas = arenas
        interleavedArena = try! NodeArena(
            system: system, placement: .interleaved, minimumBlockSize: minimumBlockSize)
    }

    /// The arena that places memory at `placement`.
    ///
    /// - Throws: ``NUMAError/invalidNode(_:available:)``.
    func arena(for placement: NUMAPlacement) throws(NUMAError) -> NodeArena {
        switch placement {
        case .interleaved:
            return interleavedArena
        case .node(let id):
            guard let arena = nodeArenas[id] else {
                throw .invalidNode(id, available: system.topology.nodeIDs)
            }
            return arena
        }
    }

    /// A region for a buffer of `role` written by a worker on `workerNode`,
    /// placed by ``NUMAPolicy``.
    ///
    /// - Throws: ``NUMAError/invalidNode(_:available:)`` for a node the
    ///   topology does not have; ``NUMAError/allocationFailed(byteCount:placement:)``.
    func allocate(
        byteCount: Int, role: BufferRole, workerNode: Int
    ) throws(NUMAError) -> ArenaRegion {
        try system.topology.validate(node: workerNode)
        let placement = NUMAPolicy.placement(
            for: role, workerNode: workerNode, topology: system.topology)
        return try arena(for: placement).allocate(byteCount: byteCount, role: role)
    }

    /// A region for a buffer of `role` written by the calling thread, on
    /// the node it runs on now (``NUMASystem/currentNode()``).
    func allocateForCurrentWorker(byteCount: Int, role: BufferRole) throws(NUMAError)
        -> ArenaRegion
    {
        try allocate(byteCount: byteCount, role: role, workerNode: system.currentNode())
    }

    /// Everything placed so far, over all arenas.
    var record: PlacementRecord {
        var record = interleavedArena.record
        for id in system.topology.nodeIDs { record.merge(nodeArenas[id]!.record) }
        return record
    }

    /// The placement report of these arenas.
    var report: PlacementReport { PlacementReport(system: system, record: record) }

    /// Rewinds every arena (see ``NodeArena/reset()``).
    func reset() {
        interleavedArena.reset()
        for arena in nodeArenas.values { arena.reset() }
    }
}
