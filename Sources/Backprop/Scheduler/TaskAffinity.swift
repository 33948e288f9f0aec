/// Which node a task of a phase belongs to (Note [Arena placement]).
///
/// With `nodes` nodes, task `i` of a phase of `count` tasks belongs to node
/// index `i · nodes / count`: the tasks are cut into `nodes` contiguous
/// blocks of nearly equal size, so neighbouring chunks of one buffer share
/// a node. Indices are positions in the topology's node list, not node ids.
enum TaskAffinity {
    /// The node index of task `i` (0-based within its phase).
    @inline(__always)
    static func node(ofTask i: Int, count: Int, nodes: Int) -> Int {
        i * nodes / count
    }

    /// The first task (within its phase) of node index `k`'s block; the
    /// block ends where node `k + 1`'s starts. For `k == nodes` it is `count`.
    @inline(__always)
    static func firstTask(ofNode k: Int, count: Int, nodes: Int) -> Int {
        (k * count + nodes - 1) / nodes
    }
}
