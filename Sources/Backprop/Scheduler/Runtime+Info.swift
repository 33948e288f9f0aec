// What a runtime found on this machine, for reports such as `backprop info`.

/// The NUMA topology a ``Runtime`` places memory on, and whether libnuma
/// was found: a snapshot for reports.
///
/// ```swift
/// print(Runtime.shared.numaInfo)
/// // NUMA: libnuma (libnuma.so.1), 1 node
/// //   libnuma: found (libnuma.so.1)
/// //   node 0: CPUs 0-7, memory 63.9 GiB
/// ```
public struct NUMAInfo: Sendable, Hashable, CustomStringConvertible {
    /// One node of the topology.
    public struct Node: Sendable, Hashable {
        /// The node id.
        public let id: Int
        /// Its CPUs, ascending.
        public let cpus: [Int]
        /// Its memory in bytes, when the topology came from libnuma.
        public let memoryBytes: Int?

        /// The CPUs as a list of ranges, `"0-3,8"`.
        public var cpuList: String { NUMATopology.cpuListText(cpus) }
    }

    /// The system in use in one line, as in ``Runtime/numaDescription``:
    /// `"libnuma (libnuma.so.1), 1 node"`, `"simulated 2 nodes (…)"` or
    /// `"off, plain allocation on 1 node (…reason…)"`.
    public let system: String
    /// Whether libnuma was loaded and `numa_available()` succeeded.
    public let libnumaFound: Bool
    /// What became of libnuma: `"found (libnuma.so.1)"`,
    /// `"not found (…)"`, `"not loaded (…)"`, …
    public let libnuma: String
    /// The nodes, by ascending id.
    public let nodes: [Node]

    init(summary: String, libnuma: LibNUMAStatus, topology: NUMATopology) {
        system = summary
        libnumaFound = libnuma.isFound
        self.libnuma = libnuma.description
        nodes = topology.nodes.map { Node(id: $0.id, cpus: $0.cpus, memoryBytes: $0.memoryBytes) }
    }

    /// `NUMA: ` and the system, then one indented line for libnuma and
    /// one per node (the head of the placement report).
    public var description: String {
        var lines = ["NUMA: \(system)", "  libnuma: \(libnuma)"]
        for node in nodes {
            let cpus = node.cpus.isEmpty ? "no CPUs" : "CPUs " + node.cpuList
            let memory =
                node.memoryBytes.map { ", memory " + PlacementReport.format(bytes: $0) } ?? ""
            lines.append("  node \(node.id): \(cpus)\(memory)")
        }
        return lines.joined(separator: "\n")
    }
}

extension Runtime {
    /// The NUMA topology this runtime places memory on, and whether libnuma
    /// was found.
    public var numaInfo: NUMAInfo {
        NUMAInfo(summary: numa.summary, libnuma: numa.libnuma, topology: numa.topology)
    }

    /// Whether matrix products can use a BLAS (see ``blasDescription``).
    /// Reading it loads OpenBLAS if found.
    public static var blasFound: Bool { BLAS.shared != nil }

    /// Whether plans made with default options send matrix products to a
    /// BLAS (`BACKPROP_BLAS=on` and one was found).
    public static var blasUsedByDefault: Bool { BLAS.preferredByDefault && BLAS.shared != nil }

    /// Whether `value` is a valid `BACKPROP_BLAS` setting: `on` (`1`,
    /// `true`, `yes`, `openblas`) or `off` (`0`, `false`, `no`, `none`),
    /// in any case.
    public static func isValidBLASSetting(_ value: String) -> Bool { BLAS.isValid(value) }
}
