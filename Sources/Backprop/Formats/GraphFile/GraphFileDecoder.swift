// Turning a parsed JSON document into a Graph: the header, then each node
// (name, op, inputs, attributes, and a leaf's shape and value), then graph
// validation, the output check and the size limits.
//
// Sizes are checked before anything is allocated for them: a leaf's shape
// before its value is read, computed nodes' shapes (inferred by the graph,
// which allocates nothing per element) before the graph is returned.

/// Decodes graph files (see `docs/graph-format.md`).
struct GraphFileDecoder {
    let limits: GraphFileLimits
    let simplify: Bool

    private static let topLevelFields: Set<String> = [
        "format", "version", "dtype", "nodes", "output",
    ]

    func decode(_ document: JSONValue) throws(GraphFileError) -> AnyGraph {
        guard case .object(let top) = document else {
            throw .unknownFormat(found: "\(document.kindDescription) at the top level")
        }
        guard let format = top["format"] else { throw .missingField(node: nil, field: "format") }
        guard case .string(let formatName) = format, formatName == GraphFile.formatName else {
            if case .string(let s) = format {
                throw .unknownFormat(found: GraphFileError.quoted(s))
            }
            throw .unknownFormat(found: format.kindDescription)
        }
        guard let version = top["version"] else { throw .missingField(node: nil, field: "version") }
        guard case .number(let versionLiteral) = version else {
            throw .invalidField(
                node: nil, field: "version",
                message: "expected a number, found \(version.kindDescription)")
        }
        guard Double(versionLiteral) == Double(GraphFile.version) else {
            throw .unsupportedVersion(versionLiteral)
        }
        guard let dtypeValue = top["dtype"] else { throw .missingField(node: nil, field: "dtype") }
        guard case .string(let dtypeName) = dtypeValue else {
            throw .invalidField(
                node: nil, field: "dtype",
                message: "expected a string, found \(dtypeValue.kindDescription)")
        }
        guard let dtype = DType(rawValue: dtypeName) else { throw .unknownDType(dtypeName) }
        for member in top.members where !Self.topLevelFields.contains(member.key) {
            throw .unexpectedField(node: nil, field: member.key)
        }
        guard let nodesValue = top["nodes"] else { throw .missingField(node: nil, field: "nodes") }
        guard case .array(let nodes) = nodesValue else {
            throw .invalidField(
                node: nil, field: "nodes",
                message: "expected an array, found \(nodesValue.kindDescription)")
        }
        guard nodes.count <= limits.maxNodes else {
            throw .tooLarge(
                node: nil,
                message: "the file has \(nodes.count) nodes, the limit is \(limits.maxNodes)")
        }
        guard let outputValue = top["output"] else {
            throw .missingField(node: nil, field: "output")
        }
        let output = try Self.name(outputValue, node: nil, field: "output")
        switch dtype {
        case .float32: return .float32(try graph(nodes, output: output))
        case .float64: return .float64(try graph(nodes, output: output))
        }
    }

    /// The graph of the decoded nodes, validated and checked against the limits.
    private func graph<T: TensorElement>(_ nodes: [JSONValue], output: String)
        throws(GraphFileError) -> Graph<T>
    {
        var definitions: [NodeDefinition<T>] = []
        definitions.reserveCapacity(nodes.count)
        var leafElements = 0
        for (index, node) in nodes.enumerated() {
            definitions.append(try definition(node, index: index, leafElements: &leafElements))
        }
        let graph: Graph<T>
        do {
            graph = try Graph(definitions: definitions, output: output, simplify: simplify)
        } catch {
            throw .graph(error)
        }
        var total = 0
        for node in 0..<graph.count {
            // Inferred shapes are valid, so their counts fit in Int.
            let count = graph.shape(of: node).count
            try checkSize(count, total: &total, node: graph.name(of: node))
        }
        let outputShape = graph.shape(of: graph.output)
        guard outputShape.count == 1 else {
            throw .nonScalarOutput(node: graph.name(of: graph.output), shape: outputShape)
        }
        return graph
    }

    private func checkSize(_ count: Int, total: inout Int, node: String) throws(GraphFileError) {
        guard count <= limits.maxElementsPerNode else {
            throw .tooLarge(
                node: node,
                message: "\(count) elements, the limit is \(limits.maxElementsPerNode) per node")
        }
        let (sum, overflow) = total.addingReportingOverflow(count)
        guard !overflow, sum <= limits.maxTotalElements else {
            throw .tooLarge(
                node: node,
                message: "the nodes up to this one hold more than \(limits.maxTotalElements) "
                    + "elements, the limit for all nodes together")
        }
        total = sum
    }

    // MARK: - Nodes

    private static let nodeFields: Set<String> = ["name", "op", "inputs", "attributes"]
    private static let leafFields: Set<String> = ["name", "op", "shape", "value"]

    private func definition<T: TensorElement>(
        _ json: JSONValue, index: Int, leafElements: inout Int
    ) throws(GraphFileError) -> NodeDefinition<T> {
        let label = "nodes[\(index)]"
        guard case .object(let object) = json else {
            throw .invalidField(
                node: nil, field: label,
                message: "expected an object, found \(json.kindDescription)")
        }
        guard let nameValue = object["name"] else {
            throw .missingField(node: label, field: "name")
        }
        let name = try Self.name(nameValue, node: label, field: "name")
        guard let opValue = object["op"] else { throw .missingField(node: name, field: "op") }
        guard case .string(let opName) = opValue else {
            throw .invalidField(
                node: name, field: "op",
                message: "expected a string, found \(opValue.kindDescription)")
        }
        guard let kind = OpKind(rawValue: opName), kind != .custom else {
            throw .unknownOp(node: name, op: opName)
        }
        let isLeaf = Self.isLeaf(kind)
        let allowed = isLeaf ? Self.leafFields : Self.nodeFields
        for member in object.members where !allowed.contains(member.key) {
            throw .unexpectedField(node: name, field: member.key)
        }
        if isLeaf {
            let op = try Self.op(kind, JSONObject(), node: name)
            guard let shapeValue = object["shape"] else {
                throw .missingField(node: name, field: "shape")
            }
            let shape = try Self.shape(shapeValue, node: name)
            // Valid shapes (checked above) have counts that fit in Int.
            try checkSize(shape.count, total: &leafElements, node: name)
            guard let valueJSON = object["value"] else {
                if kind == .constant { throw .missingField(node: name, field: "value") }
                return NodeDefinition(name: name, op: op, shape: shape)
            }
            let value: Tensor<T> = try Self.tensor(valueJSON, shape: shape, node: name)
            return NodeDefinition(name: name, op: op, value: value)
        }
        var inputs: [String] = []
        if let inputsValue = object["inputs"] {
            guard case .array(let items) = inputsValue else {
                throw .invalidField(
                    node: name, field: "inputs",
                    message: "expected an array of node names, found \(inputsValue.kindDescription)"
                )
            }
            inputs.reserveCapacity(items.count)
            for item in items { inputs.append(try Self.name(item, node: name, field: "inputs")) }
        }
        var attributes = JSONObject()
        if let attributesValue = object["attributes"] {
            guard case .object(let o) = attributesValue else {
                throw .invalidField(
                    node: name, field: "attributes",
                    message: "expected an object, found \(attributesValue.kindDescription)")
            }
            attributes = o
        }
        return NodeDefinition(
            name: name, op: try Self.op(kind, attributes, node: name), inputs: inputs)
    }

    private static func isLeaf(_ kind: OpKind) -> Bool {
        kind == .input || kind == .parameter || kind == .constant
    }

    /// A node name: a non-empty string without control characters.
    static func name(_ json: JSONValue, node: String?, field: String) throws(GraphFileError)
        -> String
    {
        guard case .string(let name) = json else {
            throw .invalidField(
                node: node, field: field,
                message: "expected a node name (a string), found \(json.kindDescription)")
        }
        guard isValidName(name) else {
            throw .invalidField(
                node: node, field: field,
                message: "\(GraphFileError.quoted(name)) is not a valid node name "
                    + "(names are non-empty and hold no control characters)")
        }
        return name
    }

    /// Whether a string can be a node's name in a graph file.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty
            && !name.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }

    // MARK: - Shapes and values

    /// A leaf's shape: at most ``Shape/maxRank`` positive integer extents
    /// whose product fits in `Int`.
    private static func shape(_ json: JSONValue, node: String) throws(GraphFileError) -> Shape {
        guard case .array(let items) = json else {
            throw .invalidField(
                node: node, field: "shape",
                message: "expected an array of extents, found \(json.kindDescription)")
        }
        guard items.count <= Shape.maxRank else {
            throw .invalidField(
                node: node, field: "shape",
                message: "rank \(items.count) exceeds the maximum rank \(Shape.maxRank)")
        }
        var dimensions: [Int] = []
        for item in items {
            guard case .number(let literal) = item else {
                throw .invalidField(
                    node: node, field: "shape",
                    message: "expected an integer extent, found \(item.kindDescription)")
            }
            switch IntegerLiteral(literal) {
            case .value(let v) where v >= 1:
                dimensions.append(v)
            case .value, .outOfRange(negative: true):
                throw .invalidField(
                    node: node, field: "shape",
                    message: "extent \(GraphFileError.clipped(literal)) is not positive")
            case .outOfRange(negative: false):
                throw .tooLarge(
                    node: node, message: "extent \(GraphFileError.clipped(literal)) in its shape")
            case .notAnInteger:
                throw .invalidField(
                    node: node, field: "shape",
                    message: "extent \(GraphFileError.clipped(literal)) is not an integer")
            }
        }
        let shape = Shape(dimensions)
        guard shape.checkedCount != nil else {
            throw .tooLarge(node: node, message: "shape \(shape) has more elements than fit in Int")
        }
        return shape
    }

    /// A leaf's value: a bare number for shape `[]`, else arrays nested
    /// `rank` deep whose lengths are the extents.
    static func tensor<T: TensorElement>(_ json: JSONValue, shape: Shape, node: String)
        throws(GraphFileError) -> Tensor<T>
    {
        var scalars: [T] = []
        scalars.reserveCapacity(shape.count)
        var path: [Int] = []
        try collect(json, shape, axis: 0, path: &path, into: &scalars, node: node)
        return Tensor(uncheckedShape: shape, scalars: scalars)
    }

    private static func collect<T: TensorElement>(
        _ json: JSONValue, _ shape: Shape, axis: Int, path: inout [Int], into scalars: inout [T],
        node: String
    ) throws(GraphFileError) {
        var at: String { "value" + path.map { "[\($0)]" }.joined() }
        guard axis < shape.rank else {
            guard case .number(let literal) = json else {
                throw .valueShapeMismatch(
                    node: node,
                    message:
                        "expected a number at \(at) for shape \(shape), found \(json.kindDescription)"
                )
            }
            guard let x = T(literal), x.isFinite else {
                throw .nonFiniteNumber(node: node, field: "value", literal: literal)
            }
            scalars.append(x)
            return
        }
        guard case .array(let items) = json else {
            throw .valueShapeMismatch(
                node: node,
                message: "expected an array of \(shape[axis]) at \(at) for shape \(shape), "
                    + "found \(json.kindDescription)")
        }
        guard items.count == shape[axis] else {
            throw .valueShapeMismatch(
                node: node,
                message: "\(at) has \(items.count) entries, shape \(shape) needs \(shape[axis])")
        }
        for (i, item) in items.enumerated() {
            path.append(i)
            try collect(item, shape, axis: axis + 1, path: &path, into: &scalars, node: node)
            path.removeLast()
        }
    }

    // MARK: - Ops and attributes

    /// The attributes an op takes; every other key is an error.
    static func attributeNames(_ kind: OpKind) -> [String] {
        switch kind {
        case .input, .parameter, .constant, .identity, .add, .sub, .mul, .div, .neg, .exp, .log,
            .sqrt, .tanh, .sigmoid, .relu, .sin, .cos, .abs, .matmul, .crossEntropy,
            .sigmoidCrossEntropy, .custom:
            []
        case .pow: ["exponent"]
        case .sum, .mean, .max: ["axes", "keep_dims"]
        case .reshape, .broadcast: ["shape"]
        case .transpose: ["permutation"]
        case .slice: ["axis", "start", "end"]
        case .concat, .softmax, .logSoftmax: ["axis"]
        }
    }

    /// The op of a node of this kind with these attributes.
    static func op(_ kind: OpKind, _ attributes: JSONObject, node: String) throws(GraphFileError)
        -> Op
    {
        let names = attributeNames(kind)
        for member in attributes.members where !names.contains(member.key) {
            throw .invalidAttribute(
                node: node, attribute: member.key,
                message: names.isEmpty
                    ? "\(kind.rawValue) takes no attributes"
                    : "unknown for \(kind.rawValue), which takes "
                        + names.map { "'\($0)'" }.joined(separator: ", "))
        }
        let a = AttributeReader(attributes: attributes, node: node)
        switch kind {
        case .input: return .input
        case .parameter: return .parameter
        case .constant: return .constant
        case .identity: return .identity
        case .add: return .binary(.add)
        case .sub: return .binary(.sub)
        case .mul: return .binary(.mul)
        case .div: return .binary(.div)
        case .neg: return .unary(.neg)
        case .exp: return .unary(.exp)
        case .log: return .unary(.log)
        case .sqrt: return .unary(.sqrt)
        case .pow: return .unary(.pow(try a.number("exponent")))
        case .tanh: return .unary(.tanh)
        case .sigmoid: return .unary(.sigmoid)
        case .relu: return .unary(.relu)
        case .sin: return .unary(.sin)
        case .cos: return .unary(.cos)
        case .abs: return .unary(.abs)
        case .matmul: return .matmul
        case .sum, .mean, .max:
            let reduction: Reduction = kind == .sum ? .sum : kind == .mean ? .mean : .max
            return .reduce(
                reduction, axes: try a.optionalIntegers("axes"),
                keepDims: try a.optionalBool("keep_dims") ?? false)
        case .reshape: return .movement(.reshape(Shape(try a.integers("shape"))))
        case .transpose:
            return .movement(
                .transpose(permutation: try a.optionalIntegers("permutation")))
        case .broadcast: return .movement(.broadcast(Shape(try a.integers("shape"))))
        case .slice:
            return .movement(
                .slice(
                    axis: try a.integer("axis"), start: try a.integer("start"),
                    end: try a.integer("end")))
        case .concat: return .movement(.concat(axis: try a.integer("axis")))
        case .softmax: return .loss(.softmax(axis: try a.optionalInteger("axis") ?? -1))
        case .logSoftmax: return .loss(.logSoftmax(axis: try a.optionalInteger("axis") ?? -1))
        case .crossEntropy: return .loss(.crossEntropy)
        case .sigmoidCrossEntropy: return .loss(.sigmoidCrossEntropy)
        case .custom: throw .unknownOp(node: node, op: kind.rawValue)
        }
    }
}

/// Typed access to a node's attributes, with errors naming node and attribute.
private struct AttributeReader {
    let attributes: JSONObject
    let node: String

    func number(_ key: String) throws(GraphFileError) -> Double {
        guard let json = attributes[key] else { throw missing(key) }
        guard case .number(let literal) = json else { throw wrongType(key, "a number", json) }
        guard let x = Double(literal), x.isFinite else {
            throw .nonFiniteNumber(node: node, field: key, literal: literal)
        }
        return x
    }

    func integer(_ key: String) throws(GraphFileError) -> Int {
        guard let json = attributes[key] else { throw missing(key) }
        return try integer(json, key)
    }

    func optionalInteger(_ key: String) throws(GraphFileError) -> Int? {
        guard let json = attributes[key] else { return nil }
        return try integer(json, key)
    }

    func integers(_ key: String) throws(GraphFileError) -> [Int] {
        guard let json = attributes[key] else { throw missing(key) }
        guard case .array(let items) = json else {
            throw wrongType(key, "an array of integers", json)
        }
        var result: [Int] = []
        for item in items { result.append(try integer(item, key)) }
        return result
    }

    func optionalIntegers(_ key: String) throws(GraphFileError) -> [Int]? {
        attributes[key] == nil ? nil : try integers(key)
    }

    func optionalBool(_ key: String) throws(GraphFileError) -> Bool? {
        guard let json = attributes[key] else { return nil }
        guard case .bool(let b) = json else { throw wrongType(key, "true or false", json) }
        return b
    }

    private func integer(_ json: JSONValue, _ key: String) throws(GraphFileError) -> Int {
        guard case .number(let literal) = json else { throw wrongType(key, "an integer", json) }
        switch IntegerLiteral(literal) {
        case .value(let v): return v
        case .outOfRange:
            throw .invalidAttribute(
                node: node, attribute: key,
                message: "\(GraphFileError.clipped(literal)) is out of range")
        case .notAnInteger:
            throw .invalidAttribute(
                node: node, attribute: key,
                message: "\(GraphFileError.clipped(literal)) is not an integer")
        }
    }

    private func missing(_ key: String) -> GraphFileError {
        .invalidAttribute(node: node, attribute: key, message: "missing; the op requires it")
    }

    private func wrongType(_ key: String, _ expected: String, _ json: JSONValue) -> GraphFileError {
        .invalidAttribute(
            node: node, attribute: key,
            message: "expected \(expected), found \(json.kindDescription)")
    }
}

/// A JSON number literal read as an `Int`: exactly, whether written `3`,
/// `3.0` or `3e0`.
enum IntegerLiteral: Equatable {
    case value(Int)
    /// An integer whose magnitude does not fit in `Int` (or does not fit in
    /// `Double`: `1e400`).
    case outOfRange(negative: Bool)
    /// A number with a fractional part.
    case notAnInteger

    init(_ literal: String) {
        let negative = literal.hasPrefix("-")
        if !literal.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
            // Digits only: exact, with no detour through Double.
            self = Int(literal).map { .value($0) } ?? .outOfRange(negative: negative)
            return
        }
        guard let x = Double(literal) else {
            self = .notAnInteger
            return
        }
        guard x.isFinite else {
            self = .outOfRange(negative: negative)
            return
        }
        guard x.rounded(.towardZero) == x else {
            self = .notAnInteger
            return
        }
        self = Int(exactly: x).map { .value($0) } ?? .outOfRange(negative: negative)
    }
}
