/// Per edge (parallel to the graph's parent lists: edge `parentStart[j] + k`
/// is argument k of node j): the buffer its VJP contribution goes to, and
/// whether it adds to what is there. Filled by 5-BackwardSchedule.
struct EdgeTable {
    /// The destination buffer (-1: the edge carries no gradient).
    var dest: [Int]
    /// Whether the contribution adds to the destination rather than setting it.
    var accumulate: [Bool]

    init(edgeCount: Int) {
        dest = [Int](repeating: -1, count: edgeCount)
        accumulate = [Bool](repeating: false, count: edgeCount)
    }
}
