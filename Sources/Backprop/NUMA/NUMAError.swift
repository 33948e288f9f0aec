/// Why a NUMA configuration or a placement request was refused.
///
/// ``description`` is one line that says what is wrong and, for
/// configuration text, where.
public enum NUMAError: Error, Equatable, CustomStringConvertible {
    /// The text of a topology override (`BACKPROP_NUMA_TOPOLOGY`) is
    /// malformed, or the nodes it describes are inconsistent. The message
    /// names the offending item.
    case invalidTopology(String)
    /// A node id that the system's topology does not have. libnuma would
    /// silently place the memory on another node (printing
    /// `mbind: Invalid argument`), so every allocation is checked first.
    case invalidNode(Int, available: [Int])
    /// An environment variable has a value that is not understood.
    case invalidSetting(variable: String, value: String, expected: String)
    /// The system could not provide the memory.
    case allocationFailed(byteCount: Int, placement: NUMAPlacement)

    public var description: String {
        switch self {
        case .invalidTopology(let message):
            "invalid NUMA topology: \(message)"
        case .invalidNode(let node, let available):
            "invalid NUMA node \(node): this topology has "
                + (available.count == 1 ? "only node " : "nodes ")
                + available.map(String.init).joined(separator: ", ")
        case .invalidSetting(let variable, let value, let expected):
            "invalid \(variable)=\(value): expected \(expected)"
        case .allocationFailed(let byteCount, let placement):
            "could not allocate \(byteCount) bytes (\(placement))"
        }
    }
}
