// Writing graph files: one node per line, in node id order, so that loading
// the text gives the same nodes with the same ids.

extension GraphFile {
    /// Writes a graph as a version 1 graph file.
    ///
    /// Every node is written, in id order, one per line: its name, op,
    /// inputs, attributes, and for a leaf its shape and value (an input or
    /// parameter without a default value is written without one). Numbers
    /// are in Swift's shortest round-trip form, so loading the text gives
    /// bit-identical values. A node without a usable name gets the name it
    /// has in error messages, `op#id` (made unique if a named node already
    /// uses it); a name must be non-empty and free of control characters.
    ///
    /// ```swift
    /// let b = GraphBuilder<Double>()
    /// let x = b.input("x", 1.0)
    /// let text = try GraphFile.write(b.build(output: (x + x).pow(2)))
    /// // {"name": "add#1", "op": "add", "inputs": ["x", "x"]}, ...
    /// ```
    ///
    /// - Throws: ``GraphFileError/customOp(node:op:)`` for a custom op,
    ///   ``GraphFileError/nonFiniteNumber(node:field:literal:)`` for an
    ///   infinite or NaN leaf value or `pow` exponent (JSON has no such
    ///   numbers), and ``GraphFileError/nonScalarOutput(node:shape:)`` when
    ///   the output does not hold exactly one element.
    /// - Complexity: O(nodes + edges + leaf elements).
    public static func write<T: TensorElement>(_ graph: Graph<T>) throws(GraphFileError) -> String {
        let names = fileNames(graph)
        let outputShape = graph.shape(of: graph.output)
        guard outputShape.count == 1 else {
            throw .nonScalarOutput(node: names[graph.output], shape: outputShape)
        }
        var out = """
            {
              "format": \(json(formatName)),
              "version": \(version),
              "dtype": "\(T.dtype)",
              "nodes": [

            """
        for node in 0..<graph.count {
            let op = graph.op(of: node)
            out += "    {\"name\": \(json(names[node])), \"op\": \"\(op.kind.rawValue)\""
            let inputs = graph.parents(of: node)
            if !inputs.isEmpty {
                out +=
                    ", \"inputs\": [" + inputs.map { json(names[$0]) }.joined(separator: ", ") + "]"
            }
            if let attributes = try attributes(op, node: names[node]) {
                out += ", \"attributes\": {\(attributes)}"
            }
            if op.isLeaf {
                out += ", \"shape\": \(integers(graph.shape(of: node).dimensions))"
                if let value = graph.value(of: node) {
                    out += ", \"value\": "
                    try write(value, into: &out, node: names[node])
                }
            }
            out += node == graph.count - 1 ? "}\n" : "},\n"
        }
        out += """
              ],
              "output": \(json(names[graph.output]))
            }

            """
        return out
    }

    /// Writes a loaded graph in its element type; see `write(_:)` for a `Graph`.
    public static func write(_ graph: AnyGraph) throws(GraphFileError) -> String {
        switch graph {
        case .float32(let g): try write(g)
        case .float64(let g): try write(g)
        }
    }

    /// Unique, valid names for every node: its own name when it is valid,
    /// else its display name `op#id`, suffixed `_2`, `_3`, ... if taken.
    static func fileNames<T>(_ graph: Graph<T>) -> [String] {
        let table = graph.table
        var taken = Set<String>()
        var names = [String?](repeating: nil, count: table.count)
        for node in 0..<table.count {
            if let name = table.names[node], GraphFileDecoder.isValidName(name),
                taken.insert(name).inserted
            {
                names[node] = name
            }
        }
        var result: [String] = []
        result.reserveCapacity(table.count)
        for node in 0..<table.count {
            if let name = names[node] {
                result.append(name)
                continue
            }
            let base = "\(table.ops[node].name)#\(node)"
            var candidate = base
            var suffix = 2
            while !taken.insert(candidate).inserted {
                candidate = "\(base)_\(suffix)"
                suffix += 1
            }
            result.append(candidate)
        }
        return result
    }

    /// The op's attributes as JSON members, or `nil` when it has none.
    private static func attributes(_ op: Op, node: String) throws(GraphFileError) -> String? {
        switch op {
        case .input, .parameter, .constant, .identity, .binary, .matmul, .loss(.crossEntropy),
            .loss(.sigmoidCrossEntropy):
            return nil
        case .unary(let f):
            guard case .pow(let p) = f else { return nil }
            guard p.isFinite else {
                throw .nonFiniteNumber(node: node, field: "exponent", literal: "\(p)")
            }
            return "\"exponent\": \(p)"
        case .reduce(_, let axes, let keepDims):
            var members: [String] = []
            if let axes { members.append("\"axes\": \(integers(axes))") }
            if keepDims { members.append("\"keep_dims\": true") }
            return members.isEmpty ? nil : members.joined(separator: ", ")
        case .movement(.reshape(let shape)), .movement(.broadcast(let shape)):
            return "\"shape\": \(integers(shape.dimensions))"
        case .movement(.transpose(let permutation)):
            return permutation.map { "\"permutation\": \(integers($0))" }
        case .movement(.slice(let axis, let start, let end)):
            return "\"axis\": \(axis), \"start\": \(start), \"end\": \(end)"
        case .movement(.concat(let axis)), .loss(.softmax(let axis)), .loss(.logSoftmax(let axis)):
            return "\"axis\": \(axis)"
        case .custom(let custom):
            throw .customOp(node: node, op: custom.name)
        }
    }

    /// A tensor as nested arrays (a bare number for a scalar).
    private static func write<T: TensorElement>(
        _ value: Tensor<T>, into out: inout String, node: String
    ) throws(GraphFileError) {
        if let bad = value.scalars.first(where: { !$0.isFinite }) {
            throw .nonFiniteNumber(node: node, field: "value", literal: "\(bad)")
        }
        let dims = value.shape.dimensions
        guard !dims.isEmpty else {
            out += "\(value.scalars[0])"
            return
        }
        // Element k opens the bracket of every axis whose block (the
        // elements of one index on the axes before it) starts at k, and
        // closes every block that ends with it.
        let blocks = zip(value.shape.strides, dims).map { $0 * $1 }
        func boundaries(at k: Int) -> Int {
            var n = 0
            for block in blocks where k % block == 0 { n += 1 }
            return n
        }
        for (k, x) in value.scalars.enumerated() {
            if k > 0 { out += ", " }
            for _ in 0..<boundaries(at: k) { out += "[" }
            out += "\(x)"
            for _ in 0..<boundaries(at: k + 1) { out += "]" }
        }
    }

    private static func integers(_ values: [Int]) -> String {
        "[" + values.map(String.init).joined(separator: ", ") + "]"
    }

    /// A string as a JSON string literal.
    static func json(_ text: String) -> String { JSONString.quoted(text) }
}
