/// What a buffer holds, for placement policy and reports.
public enum BufferRole: String, CaseIterable, Hashable, Sendable, Comparable {
    /// A node's forward value, produced by one chunk.
    case value
    /// A node's gradient (the reduced sum of its contributions).
    case gradient
    /// A partial gradient buffer (summed at the level's join), a two-stage
    /// reduction's partials, or other scratch written by one task.
    case partial
    /// A read-mostly value that callers set and every node's workers read:
    /// inputs, parameters, constants, the cotangent.
    case parameter

    /// The plural, as reports print it: `"values"`, `"gradients"`, ….
    public var plural: String { rawValue + "s" }

    public static func < (a: BufferRole, b: BufferRole) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// How many bytes of each ``BufferRole`` were placed where: what a plan
/// records about its buffers, and what arenas count.
///
/// ```swift
/// var record = PlacementRecord()
/// record.add(4096, role: .value, at: .node(1))
/// record.bytes(.value, at: .node(1))  // 4096
/// ```
public struct PlacementRecord: Hashable, Sendable {
    private var counts: [NUMAPlacement: [BufferRole: Int]] = [:]

    /// An empty record.
    init() {}

    /// Counts `byteCount` bytes of `role` at `placement`.
    mutating func add(_ byteCount: Int, role: BufferRole, at placement: NUMAPlacement) {
        counts[placement, default: [:]][role, default: 0] += byteCount
    }

    /// The bytes of `role` at `placement`.
    public func bytes(_ role: BufferRole, at placement: NUMAPlacement) -> Int {
        counts[placement]?[role] ?? 0
    }

    /// All bytes at `placement`.
    public func totalBytes(at placement: NUMAPlacement) -> Int {
        counts[placement]?.values.reduce(0, +) ?? 0
    }

    /// All bytes of `role`, wherever placed.
    public func totalBytes(of role: BufferRole) -> Int {
        counts.values.reduce(0) { $0 + ($1[role] ?? 0) }
    }

    /// The placements that hold anything: nodes by id, then interleaved.
    public var placements: [NUMAPlacement] {
        counts.filter { !$0.value.isEmpty }.keys.sorted()
    }
}

/// The placement report: the topology, whether libnuma was found, and per
/// node the bytes of values, gradients, partials and parameters placed
/// there. Its ``description`` is what `backprop info` prints.
///
/// ```text
/// NUMA: libnuma (libnuma.so.1), 2 nodes
///   libnuma: found (libnuma.so.1)
///   node 0: CPUs 0-7, memory 63.9 GiB
///   node 1: CPUs 8-15, memory 64.0 GiB
/// placement:
///   node 0: values 1.5 MiB, gradients 1.5 MiB, partials 256 KiB
///   node 1: values 1.5 MiB, gradients 1.5 MiB, partials 256 KiB
///   interleaved: parameters 4.0 MiB
/// ```
///
/// Get one from ``Plan/placementReport(on:)`` (before creating an execution)
/// or ``Execution/placementReport`` (what an execution placed).
public struct PlacementReport: Sendable, CustomStringConvertible {
    /// One line naming the NUMA system used, e.g. `"libnuma (libnuma.so.1), 2 nodes"`.
    public let summary: String
    let libnuma: LibNUMAStatus
    let topology: NUMATopology
    /// The bytes of each role at each placement. Buffers that share arena
    /// space through reuse each count their own bytes.
    public let record: PlacementRecord

    /// Whether libnuma was found and is in use.
    public var libnumaFound: Bool { libnuma.isFound }

    /// The ids of the topology's nodes.
    public var nodeIDs: [Int] { topology.nodeIDs }

    /// The report of `record`, placed by `system`.
    /// Whether the pages were bound as the record says (`false` where
    /// libnuma lacks the binding functions: the record is then the intent,
    /// and first touch decides).
    public let pagesBound: Bool

    init(system: any NUMASystem, record: PlacementRecord, pagesBound: Bool = true) {
        self.summary = system.summary
        self.libnuma = system.libnuma
        self.topology = system.topology
        self.record = record
        self.pagesBound = pagesBound
    }

    public var description: String {
        NUMAInfo(summary: summary, libnuma: libnuma, topology: topology).description + "\n"
            + placementDescription
    }

    /// The placement part of ``description``: `placement:` and one line per
    /// node (then interleaved) with the bytes of each role placed there.
    public var placementDescription: String {
        let placements = record.placements
        guard !placements.isEmpty else { return "placement: nothing placed" }
        var lines = [pagesBound ? "placement:" : "placement (intended; pages not bound):"]
        for placement in placements {
            let parts = BufferRole.allCases.compactMap { role -> String? in
                let bytes = record.bytes(role, at: placement)
                return bytes == 0 ? nil : "\(role.plural) \(Self.format(bytes: bytes))"
            }
            lines.append("  \(placement): " + parts.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    /// `512 B`, `256 KiB`, `1.5 MiB`, `63.9 GiB`: binary units, one
    /// decimal, dropped when it is zero.
    static func format(bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let tenths = Int((value * 10).rounded())
        let fraction = tenths % 10 == 0 ? "" : ".\(tenths % 10)"
        return "\(tenths / 10)\(fraction) \(units[unit])"
    }
}
