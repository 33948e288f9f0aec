/// An immutable, validated computation graph: a DAG whose leaves hold
/// values and whose other nodes compute `x_i = f_i(x_pa(i))`, with one
/// designated output node ω.
///
/// Make one with ``GraphBuilder`` (handles and Swift operators) or from
/// name-based ``NodeDefinition``s (``init(definitions:output:simplify:)``),
/// which is what graph files load into. Either way the graph is checked once:
/// names resolve, there is no cycle, every op gets inputs it accepts, and
/// every node's shape is inferred.
///
/// Node ids are dense integers in creation order. All traversals are
/// iterative, so chains of millions of nodes are fine.
///
/// ```swift
/// let b = GraphBuilder<Double>()
/// let x = b.input("x", 1.0), y = b.input("y", 2.0)
/// let graph = try b.build(output: (x + y) * x * y * y)
/// graph.parents(of: graph.output)     // [the node (x + y)·x·y, y]
/// graph.levels.count                  // 5
/// ```
public struct Graph<Element: TensorElement>: Sendable {
    let table: NodeTable<Element>
    /// The output node ω.
    public let output: NodeID
    let shapes: [Shape]
    let childStart: [Int]
    let childList: [NodeID]
    /// Every node, in a topological order (parents before children).
    public let topologicalOrder: [NodeID]
    /// The nodes that the output depends on (the output included), in
    /// topological order: what a forward pass evaluates.
    public let forwardOrder: [NodeID]
    let isInOutputCone: [Bool]
    let levelOf: [Int]
    /// Nodes sorted by level, then id; level l is `levelNodes[levelStart[l]..<levelStart[l + 1]]`.
    let levelStart: [Int]
    let levelNodes: [NodeID]

    /// The nodes grouped by level: leaves and other parentless nodes are
    /// level 0, every other node is 1 + the largest level of its parents.
    /// Nodes of one level are independent of each other.
    public var levels: [[NodeID]] { (0..<levelCount).map { Array(nodes(inLevel: $0)) } }
    /// The number of levels.
    public var levelCount: Int { levelStart.count - 1 }
    /// The nodes of level `l`, in id order.
    public func nodes(inLevel l: Int) -> ArraySlice<NodeID> {
        levelNodes[levelStart[l]..<levelStart[l + 1]]
    }
    /// The input and parameter nodes (those whose gradient is reported), in id order.
    public let inputs: [NodeID]
    /// The rewrites the simplifier applied, in the order applied.
    public internal(set) var rewrites: [Rewrite]
    let nameIndex: [String: NodeID]

    /// The number of nodes.
    public var count: Int { table.count }
    /// The element type.
    public var dtype: DType { Element.dtype }

    /// The node's op.
    public func op(of node: NodeID) -> Op { table.ops[node] }
    /// The node's name, or `op#id` for an unnamed node.
    public func name(of node: NodeID) -> String { table.displayName(node) }
    /// The node's inferred shape.
    public func shape(of node: NodeID) -> Shape { shapes[node] }
    /// The node's parents `pa(i)`, in argument order (a node used twice appears twice).
    public func parents(of node: NodeID) -> ArraySlice<NodeID> { table.parents(node) }
    /// The node's children `ch(i)`: the nodes that use it, each once, in id order.
    public func children(of node: NodeID) -> ArraySlice<NodeID> {
        childList[childStart[node]..<childStart[node + 1]]
    }
    /// The node's level.
    public func level(of node: NodeID) -> Int { levelOf[node] }
    /// The node with this name, if any.
    public func node(named name: String) -> NodeID? { nameIndex[name] }
    /// A leaf's value (an input's default), if it has one.
    public func value(of node: NodeID) -> Tensor<Element>? { table.values[node] }
    /// Whether the output depends on the node (the output itself included).
    public func outputDepends(on node: NodeID) -> Bool { isInOutputCone[node] }

    /// The input or parameter named `name`, checked to take a value of `shape`:
    /// what every executor does with a fed value.
    ///
    /// - Throws: ``GraphError/unknownName(_:referencedBy:)``,
    ///   ``GraphError/notAnInput(node:)``, ``GraphError/shapeMismatch(node:message:)``.
    func feedableNode(named name: String, shape: Shape) throws(GraphError) -> NodeID {
        guard let node = node(named: name) else { throw .unknownName(name, referencedBy: "inputs") }
        guard op(of: node).isDifferentiableLeaf else { throw .notAnInput(node: name) }
        guard shape == self.shape(of: node) else {
            throw .shapeMismatch(
                node: name,
                message:
                    "fed a value of shape \(shape), the input has shape \(self.shape(of: node))")
        }
        return node
    }

    /// Whether `order` lists every node of ``forwardOrder`` exactly once,
    /// each after all of its parents.
    public func isForwardOrder(_ order: [NodeID]) -> Bool {
        guard order.count == forwardOrder.count else { return false }
        var position = [Int](repeating: -1, count: count)
        for (k, node) in order.enumerated() {
            guard (0..<count).contains(node), isInOutputCone[node], position[node] < 0 else {
                return false
            }
            position[node] = k
        }
        for node in order
        where parents(of: node).contains(where: { position[$0] >= position[node] }) {
            return false
        }
        return true
    }
}

// MARK: - Construction

extension Graph {
    /// Builds and validates a graph from a builder's node table.
    init(table input: NodeTable<Element>, output: NodeID, simplify: Bool) throws(GraphError) {
        var table = input
        guard (0..<table.count).contains(output) else {
            throw .danglingReference(
                node: "output", message: "node #\(output) is not in this graph")
        }
        let nameIndex = try Self.checkNodes(table)
        var (childStart, childList) = Self.children(table)
        var order = try Self.topologicalOrder(table, childStart, childList)
        var shapes = try Self.inferShapes(table, order)
        var rewrites: [Rewrite] = []
        if simplify {
            let before = table.count
            rewrites = Simplifier.run(&table, &shapes, order: order)
            if !rewrites.isEmpty {
                (childStart, childList) = Self.children(table)
                // Appended nodes feed older ones: sort again.
                if table.count != before {
                    order = try Self.topologicalOrder(table, childStart, childList)
                }
            }
        }
        var cone = [Bool](repeating: false, count: table.count)
        cone[output] = true
        for node in order.reversed() where cone[node] {
            for p in table.parents(node) { cone[p] = true }
        }
        var levelOf = [Int](repeating: 0, count: table.count)
        var levelCount = 0
        for node in order {
            var level = 0
            for p in table.parents(node) { level = Swift.max(level, levelOf[p] + 1) }
            levelOf[node] = level
            levelCount = Swift.max(levelCount, level + 1)
        }
        // Counting sort by level; ids ascend within a level.
        var levelStart = [Int](repeating: 0, count: levelCount + 1)
        for node in 0..<table.count { levelStart[levelOf[node] + 1] += 1 }
        for l in 0..<levelCount { levelStart[l + 1] += levelStart[l] }
        var fill = levelStart
        var levelNodes = [NodeID](repeating: 0, count: table.count)
        for node in 0..<table.count {
            levelNodes[fill[levelOf[node]]] = node
            fill[levelOf[node]] += 1
        }

        self.table = table
        self.output = output
        self.shapes = shapes
        self.childStart = childStart
        self.childList = childList
        self.topologicalOrder = order
        self.forwardOrder = order.filter { cone[$0] }
        self.isInOutputCone = cone
        self.levelOf = levelOf
        self.levelStart = levelStart
        self.levelNodes = levelNodes
        self.inputs = (0..<table.count).filter { table.ops[$0].isDifferentiableLeaf }
        self.rewrites = rewrites
        self.nameIndex = nameIndex
    }

    /// Checks references, arities, names and leaves; returns the name index.
    private static func checkNodes(_ t: NodeTable<Element>) throws(GraphError) -> [String: NodeID] {
        var index: [String: NodeID] = [:]
        for i in 0..<t.count {
            if let name = t.names[i] {
                guard index.updateValue(i, forKey: name) == nil else { throw .duplicateName(name) }
            }
            let op = t.ops[i]
            let parents = t.parents(i)
            for p in parents where !(0..<t.count).contains(p) {
                throw .danglingReference(
                    node: t.displayName(i), message: "input #\(p) is not a node of this graph")
            }
            do { try op.checkArity(parents.count) } catch {
                throw error.at(node: t.displayName(i), op: op.name)
            }
            guard op.isLeaf else {
                if t.values[i] != nil || t.declaredShapes[i] != nil {
                    throw .invalidAttribute(
                        node: t.displayName(i),
                        message: "only input, parameter and constant nodes hold a value or shape")
                }
                continue
            }
            if case .constant = op, t.values[i] == nil {
                throw .invalidAttribute(node: t.displayName(i), message: "a constant needs a value")
            }
            guard let shape = t.values[i]?.shape ?? t.declaredShapes[i] else {
                throw .invalidAttribute(
                    node: t.displayName(i), message: "a \(op.name) needs a value or a shape")
            }
            if let problem = shape.validationProblem {
                throw .invalidAttribute(node: t.displayName(i), message: problem)
            }
            if let value = t.values[i], let declared = t.declaredShapes[i], value.shape != declared
            {
                throw .shapeMismatch(
                    node: t.displayName(i),
                    message: "value has shape \(value.shape), declared \(declared)")
            }
        }
        return index
    }

    /// The unique children of every node, in compressed sparse rows.
    static func children(_ t: NodeTable<Element>) -> (start: [Int], list: [NodeID]) {
        var counts = [Int](repeating: 0, count: t.count + 1)
        var lastChild = [Int](repeating: -1, count: t.count)
        for j in 0..<t.count {
            for p in t.parents(j) where lastChild[p] != j {
                lastChild[p] = j
                counts[p + 1] += 1
            }
        }
        for i in 0..<t.count { counts[i + 1] += counts[i] }
        var fill = counts
        var list = [NodeID](repeating: 0, count: counts[t.count])
        lastChild = [Int](repeating: -1, count: t.count)
        for j in 0..<t.count {
            for p in t.parents(j) where lastChild[p] != j {
                lastChild[p] = j
                list[fill[p]] = j
                fill[p] += 1
            }
        }
        return (counts, list)
    }

    /// Kahn's algorithm, iterative; on a cycle, throws the cycle's path.
    private static func topologicalOrder(
        _ t: NodeTable<Element>, _ childStart: [Int], _ childList: [NodeID]
    ) throws(GraphError) -> [NodeID] {
        var pending = [Int](repeating: 0, count: t.count)
        for i in 0..<t.count {
            for c in childList[childStart[i]..<childStart[i + 1]] { pending[c] += 1 }
        }
        var order: [NodeID] = []
        order.reserveCapacity(t.count)
        for i in 0..<t.count where pending[i] == 0 { order.append(i) }
        var next = 0
        while next < order.count {
            let i = order[next]
            next += 1
            for c in childList[childStart[i]..<childStart[i + 1]] {
                pending[c] -= 1
                if pending[c] == 0 { order.append(c) }
            }
        }
        if order.count == t.count { return order }
        // Every node left over has a left-over parent: walk parents until a
        // node repeats; the walk from its first visit is the cycle.
        var start = pending.firstIndex { $0 > 0 }!
        var seenAt = [Int: Int]()
        var walk: [NodeID] = []
        while seenAt[start] == nil {
            seenAt[start] = walk.count
            walk.append(start)
            start = t.parents(start).first { pending[$0] > 0 }!
        }
        // The walk went child → parent; report data flow, from the lowest id.
        var cycle = Array(walk[seenAt[start]!...].reversed())
        let first = cycle.indices.min { cycle[$0] < cycle[$1] }!
        cycle = Array(cycle[first...] + cycle[..<first])
        throw .cycle(path: (cycle + [cycle[0]]).map(t.displayName))
    }

    private static func inferShapes(_ t: NodeTable<Element>, _ order: [NodeID]) throws(GraphError)
        -> [Shape]
    {
        var shapes = [Shape](repeating: .scalar, count: t.count)
        for i in order {
            let op = t.ops[i]
            if op.isLeaf {
                shapes[i] = t.values[i]?.shape ?? t.declaredShapes[i]!
                continue
            }
            // Elementwise ops on equal shapes, the common case, need no rule.
            let parents = t.parents(i)
            switch op {
            case .identity, .unary:
                shapes[i] = shapes[parents.first!]
                continue
            case .binary where shapes[parents.first!] == shapes[parents.last!]:
                shapes[i] = shapes[parents.first!]
                continue
            default: break
            }
            do {
                shapes[i] = try op.outputShape(parents.map { shapes[$0] }, dtype: Element.dtype)
            } catch {
                throw error.at(node: t.displayName(i), op: op.name)
            }
            if let problem = shapes[i].validationProblem {
                throw .shapeMismatch(
                    node: t.displayName(i),
                    message: "the result would have shape \(shapes[i]): \(problem)")
            }
        }
        return shapes
    }
}

/// One node of a name-based graph description: what a graph file holds.
public struct NodeDefinition<Element: TensorElement>: Sendable {
    /// The node's unique name.
    public var name: String
    /// The op.
    public var op: Op
    /// The names of the parents, in argument order.
    public var inputs: [String]
    /// A leaf's value (an input's default).
    public var value: Tensor<Element>?
    /// A leaf's shape, when it has no value (an input that must be fed).
    public var shape: Shape?

    /// Creates a node definition.
    public init(
        name: String, op: Op, inputs: [String] = [], value: Tensor<Element>? = nil,
        shape: Shape? = nil
    ) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.value = value
        self.shape = shape
    }
}

extension Graph {
    /// Builds a graph from named node definitions, in any order (a node may
    /// reference one defined after it).
    ///
    /// - Parameters:
    ///   - definitions: The nodes; names must be unique.
    ///   - output: The output node's name.
    ///   - simplify: Whether to apply the simplifier's rewrites (see ``Rewrite``).
    /// - Throws: ``GraphError``: unknown or duplicate names, cycles (with the
    ///   path), wrong input counts, shape and type mismatches.
    /// - Complexity: O(nodes + edges), plus the shape rules.
    public init(definitions: [NodeDefinition<Element>], output: String, simplify: Bool = true)
        throws(GraphError)
    {
        var ids: [String: NodeID] = [:]
        for (i, d) in definitions.enumerated() {
            guard ids.updateValue(i, forKey: d.name) == nil else { throw .duplicateName(d.name) }
        }
        var table = NodeTable<Element>()
        for d in definitions {
            var parents: [NodeID] = []
            for name in d.inputs {
                guard let p = ids[name] else { throw .unknownName(name, referencedBy: d.name) }
                parents.append(p)
            }
            table.append(name: d.name, op: d.op, parents: parents, value: d.value, shape: d.shape)
        }
        guard let out = ids[output] else { throw .unknownName(output, referencedBy: "output") }
        try self.init(table: table, output: out, simplify: simplify)
    }
}

extension Graph {
    /// The same graph over another element type: leaf values are converted
    /// (rounding to nearest), ops and node ids are unchanged.
    ///
    /// - Throws: ``GraphError/typeMismatch(node:message:)`` when a custom op
    ///   does not support the new element type.
    public func converted<Other: TensorElement>(to _: Other.Type) throws(GraphError) -> Graph<Other>
    {
        var other = NodeTable<Other>()
        other.names = table.names
        other.ops = table.ops
        other.parentStart = table.parentStart
        other.parentList = table.parentList
        other.values = table.values.map { $0?.converted(to: Other.self) }
        other.declaredShapes = table.declaredShapes
        // Already simplified (or deliberately not): convert as is.
        var graph = try Graph<Other>(table: other, output: output, simplify: false)
        graph.rewrites = rewrites
        return graph
    }
}
