/// The machine's NUMA nodes and the CPUs of each: what placement policy
/// decides with.
///
/// It comes from libnuma (the nodes this process may allocate on, and the
/// CPUs the kernel lists for each), from the override
/// `BACKPROP_NUMA_TOPOLOGY` (see ``init(parsing:)``), or is the single node
/// of a machine without NUMA support.
///
/// ```swift
/// let topology = try NUMATopology(parsing: "0:0-7;1:8-15")
/// topology.nodeIDs             // [0, 1]
/// topology.node(ofCPU: 9)      // 1
/// topology.description         // "0:0-7;1:8-15"
/// ```
///
/// Node ids need not be contiguous (machines with gaps exist); they are
/// kept in ascending order. A node from libnuma may have no CPUs (a
/// memory-only node); one from text may not.
struct NUMATopology: Hashable, Sendable, CustomStringConvertible {
    /// One node: its id, its CPUs (ascending) and, when known, its memory.
    struct Node: Hashable, Sendable {
        /// The kernel's node id.
        let id: Int
        /// The CPUs of the node, ascending, without duplicates.
        let cpus: [Int]
        /// The node's memory in bytes, when the topology came from libnuma.
        let memoryBytes: Int?

        init(id: Int, cpus: [Int], memoryBytes: Int? = nil) {
            self.id = id
            self.cpus = cpus.sorted()
            self.memoryBytes = memoryBytes
        }
    }

    /// The nodes, by ascending id.
    let nodes: [Node]
    /// CPU → node id.
    private let nodeOfCPU: [Int: Int]

    /// The largest node id accepted anywhere (the kernel's `MAX_NUMNODES`).
    static var nodeLimit: Int { 1024 }
    /// The largest CPU number accepted in override text, plus one.
    static var cpuLimit: Int { 65_536 }

    /// A topology of the given nodes.
    ///
    /// - Throws: ``NUMAError/invalidTopology(_:)`` when there are no nodes,
    ///   a node id is negative, too large or repeated, a CPU number is
    ///   negative or belongs to two nodes.
    init(nodes: [Node]) throws(NUMAError) {
        guard !nodes.isEmpty else { throw .invalidTopology("no nodes") }
        var seenNodes = Set<Int>()
        var owner: [Int: Int] = [:]
        for node in nodes {
            guard node.id >= 0, node.id < Self.nodeLimit else {
                throw .invalidTopology("node id \(node.id) is outside 0..<\(Self.nodeLimit)")
            }
            guard seenNodes.insert(node.id).inserted else {
                throw .invalidTopology("node \(node.id) is listed twice")
            }
            for cpu in node.cpus {
                guard cpu >= 0 else {
                    throw .invalidTopology("node \(node.id): CPU \(cpu) is negative")
                }
                if let other = owner[cpu] {
                    throw .invalidTopology(
                        other == node.id
                            ? "node \(node.id): CPU \(cpu) is listed twice"
                            : "CPU \(cpu) is listed in node \(other) and in node \(node.id)")
                }
                owner[cpu] = node.id
            }
        }
        self.nodes = nodes.sorted { $0.id < $1.id }
        self.nodeOfCPU = owner
    }

    /// One node, id 0, with CPUs `0..<cpuCount`: the view of a machine (or
    /// a configuration) without NUMA.
    static func singleNode(cpuCount: Int) -> NUMATopology {
        // One node with distinct, non-negative CPUs is always valid.
        try! NUMATopology(nodes: [Node(id: 0, cpus: Array(0..<Swift.max(1, cpuCount)))])
    }

    /// The node ids, ascending.
    var nodeIDs: [Int] { nodes.map(\.id) }

    /// Whether `node` is one of this topology's nodes.
    func contains(node: Int) -> Bool { nodes.contains { $0.id == node } }

    /// The node that `cpu` belongs to, or `nil` for a CPU this topology does
    /// not list.
    func node(ofCPU cpu: Int) -> Int? { nodeOfCPU[cpu] }

    /// Checks that `node` can be allocated on.
    ///
    /// - Throws: ``NUMAError/invalidNode(_:available:)`` otherwise.
    func validate(node: Int) throws(NUMAError) {
        guard contains(node: node) else { throw .invalidNode(node, available: nodeIDs) }
    }

    /// The override syntax, canonical: nodes by id, CPU runs as ranges,
    /// e.g. `0:0-7;1:8-15` or `0:0,2,4;1:1,3,5`. A memory-only node is
    /// written `2:` (which ``init(parsing:)`` rejects).
    var description: String {
        nodes.map { "\($0.id):" + Self.cpuListText($0.cpus) }.joined(separator: ";")
    }

    /// `[0, 1, 2, 3, 8]` → `"0-3,8"`.
    static func cpuListText(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < cpus.count {
            var j = i
            while j + 1 < cpus.count && cpus[j + 1] == cpus[j] + 1 { j += 1 }
            parts.append(j == i ? "\(cpus[i])" : "\(cpus[i])-\(cpus[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}

extension NUMATopology {
    /// Parses the override syntax of `BACKPROP_NUMA_TOPOLOGY`.
    ///
    /// Nodes are separated by `;`; each is `NODE:CPUS`, where `CPUS` is a
    /// comma-separated list of CPU numbers and inclusive ranges `A-B`.
    /// Spaces around the separators are allowed; nothing else is lenient.
    ///
    /// ```swift
    /// try NUMATopology(parsing: "0:0-7;1:8-15")
    /// try NUMATopology(parsing: "0:0,2,4;1:1,3,5")
    /// try NUMATopology(parsing: "0:0-3,8")
    /// ```
    ///
    /// - Throws: ``NUMAError/invalidTopology(_:)``, with a message that
    ///   names the item (1-based, as written) and what is wrong with it:
    ///   empty text or items, a missing `:`, numbers that are not plain
    ///   decimal digits (a sign included, so negative numbers), descending
    ///   or oversized ranges, a node without CPUs, a node id listed twice,
    ///   a CPU listed twice.
    init(parsing text: String) throws(NUMAError) {
        let trimmed = Self.trim(Substring(text))
        guard !trimmed.isEmpty else { throw .invalidTopology("the text is empty") }
        var nodes: [Node] = []
        var itemOfNode: [Int: Int] = [:]
        var owner: [Int: (node: Int, item: Int)] = [:]
        let items = trimmed.split(separator: ";", omittingEmptySubsequences: false)
        for (index, rawItem) in items.enumerated() {
            let itemNumber = index + 1
            let item = Self.trim(rawItem)
            let at = "item \(itemNumber) \"\(item)\""
            guard !item.isEmpty else {
                throw .invalidTopology("item \(itemNumber) is empty (a stray ';'?)")
            }
            let halves = item.split(separator: ":", omittingEmptySubsequences: false)
            guard halves.count == 2 else {
                throw .invalidTopology(
                    halves.count == 1
                        ? "\(at): expected NODE:CPUS, with a ':'"
                        : "\(at): more than one ':' (separate nodes with ';')")
            }
            let node = try Self.number(
                Self.trim(halves[0]), what: "node id", at: at, limit: Self.nodeLimit)
            if let first = itemOfNode[node] {
                throw .invalidTopology("\(at): node \(node) is already listed in item \(first)")
            }
            itemOfNode[node] = itemNumber
            let list = Self.trim(halves[1])
            guard !list.isEmpty else { throw .invalidTopology("\(at): node \(node) has no CPUs") }
            var cpus: [Int] = []
            for rawEntry in list.split(separator: ",", omittingEmptySubsequences: false) {
                let entry = Self.trim(rawEntry)
                guard !entry.isEmpty else {
                    throw .invalidTopology("\(at): empty entry in the CPU list (a stray ','?)")
                }
                for cpu in try Self.cpuRange(entry, at: at) {
                    if let previous = owner[cpu] {
                        throw .invalidTopology(
                            previous.node == node
                                ? "\(at): CPU \(cpu) is listed twice in node \(node)"
                                : "\(at): CPU \(cpu) is already in node \(previous.node) "
                                    + "(item \(previous.item))")
                    }
                    owner[cpu] = (node, itemNumber)
                    cpus.append(cpu)
                }
            }
            nodes.append(Node(id: node, cpus: cpus))
        }
        try self.init(nodes: nodes)
    }

    /// One entry of a CPU list: `N` or `A-B` (inclusive, ascending).
    private static func cpuRange(_ entry: Substring, at: String) throws(NUMAError)
        -> ClosedRange<Int>
    {
        if entry.hasPrefix("-"), entry.count > 1, entry.dropFirst().allSatisfy(isDigit) {
            throw .invalidTopology("\(at): CPU \(entry) is negative")
        }
        let ends = entry.split(separator: "-", omittingEmptySubsequences: false)
        switch ends.count {
        case 1:
            let cpu = try number(entry, what: "CPU", at: at, limit: cpuLimit)
            return cpu...cpu
        case 2:
            let low = try number(trim(ends[0]), what: "CPU", at: at, limit: cpuLimit)
            let high = try number(trim(ends[1]), what: "CPU", at: at, limit: cpuLimit)
            guard low <= high else {
                throw .invalidTopology("\(at): CPU range \(low)-\(high) is descending")
            }
            return low...high
        default:
            throw .invalidTopology("\(at): CPU range \"\(entry)\" is malformed (expected A-B)")
        }
    }

    /// A non-negative decimal number below `limit`, written with ASCII
    /// digits only (no sign, no spaces inside).
    private static func number(
        _ text: Substring, what: String, at: String, limit: Int
    ) throws(NUMAError) -> Int {
        if text.isEmpty { throw .invalidTopology("\(at): missing \(what)") }
        if text.hasPrefix("-"), text.dropFirst().allSatisfy(isDigit), text.count > 1 {
            throw .invalidTopology("\(at): \(what) \(text) is negative")
        }
        guard text.allSatisfy(isDigit) else {
            throw .invalidTopology("\(at): \(what) \"\(text)\" is not a non-negative integer")
        }
        guard text.count <= 9, let value = Int(text), value < limit else {
            throw .invalidTopology("\(at): \(what) \(text) is too large (limit \(limit - 1))")
        }
        return value
    }

    private static func isDigit(_ c: Character) -> Bool {
        c.isASCII && c.isNumber
    }

    private static func trim(_ text: Substring) -> Substring {
        var t = text
        while let c = t.first, c == " " || c == "\t" { t.removeFirst() }
        while let c = t.last, c == " " || c == "\t" { t.removeLast() }
        return t
    }
}
