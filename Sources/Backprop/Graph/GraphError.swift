/// Why a graph could not be built, or why inputs do not fit a graph.
///
/// Every case names the node it is about (its name, or `op#id` for an
/// unnamed node), and ``description`` is one line that says what is wrong.
public enum GraphError: Error, Equatable, CustomStringConvertible {
    /// Operand shapes do not fit the op (or a fed value does not fit its input).
    case shapeMismatch(node: String, message: String)
    /// The node cannot run in this graph's element type.
    case typeMismatch(node: String, message: String)
    /// An attribute is invalid: an axis out of range, a bad permutation, an
    /// invalid shape, an empty slice.
    case invalidAttribute(node: String, message: String)
    /// The op got the wrong number of inputs.
    case wrongInputCount(node: String, op: String, expected: String, got: Int)
    /// A name that no node has: an input reference, the output, or a fed value.
    case unknownName(String, referencedBy: String)
    /// Two nodes share a name.
    case duplicateName(String)
    /// A reference to a node that is not in this graph (for example a node
    /// handle of another `GraphBuilder`).
    case danglingReference(node: String, message: String)
    /// The nodes form a cycle; the path starts and ends at the same node.
    case cycle(path: [String])
    /// A gradient was asked of an output that is not a scalar.
    case nonScalarOutput(node: String, shape: Shape)
    /// An input has no value: none given at build time and none fed.
    case missingValue(node: String)
    /// A value was fed to a node that is not an input or parameter.
    case notAnInput(node: String)

    /// The node the error is about.
    public var node: String {
        switch self {
        case .shapeMismatch(let n, _), .typeMismatch(let n, _), .invalidAttribute(let n, _),
            .wrongInputCount(let n, _, _, _), .danglingReference(let n, _),
            .nonScalarOutput(let n, _), .missingValue(let n), .notAnInput(let n),
            .duplicateName(let n):
            return n
        case .unknownName(_, let referencedBy): return referencedBy
        case .cycle(let path): return path.first ?? ""
        }
    }

    public var description: String {
        switch self {
        case .shapeMismatch(let n, let m): "shape mismatch at node '\(n)': \(m)"
        case .typeMismatch(let n, let m): "type mismatch at node '\(n)': \(m)"
        case .invalidAttribute(let n, let m): "invalid attribute at node '\(n)': \(m)"
        case .wrongInputCount(let n, let op, let expected, let got):
            "node '\(n)': \(op) takes \(expected) input\(expected == "1" ? "" : "s"), got \(got)"
        case .unknownName(let name, let by): "unknown node name '\(name)' referenced by '\(by)'"
        case .duplicateName(let n): "duplicate node name '\(n)'"
        case .danglingReference(let n, let m): "dangling reference at node '\(n)': \(m)"
        case .cycle(let path): "cycle: " + path.map { "'\($0)'" }.joined(separator: " -> ")
        case .nonScalarOutput(let n, let s):
            "output node '\(n)' has shape \(s); a gradient needs a scalar output (use vjp or jacobian)"
        case .missingValue(let n):
            "input node '\(n)' has no value: give one at build time or feed one"
        case .notAnInput(let n): "node '\(n)' is not an input or parameter and cannot be fed"
        }
    }
}

/// A shape rule's complaint, before the graph attaches the node's name.
enum ShapeRuleError: Error {
    case mismatch(String)
    case invalidAttribute(String)
    case typeMismatch(String)
    case arity(expected: String, got: Int)

    func at(node: String, op: String) -> GraphError {
        switch self {
        case .mismatch(let m): .shapeMismatch(node: node, message: m)
        case .invalidAttribute(let m): .invalidAttribute(node: node, message: m)
        case .typeMismatch(let m): .typeMismatch(node: node, message: m)
        case .arity(let e, let g): .wrongInputCount(node: node, op: op, expected: e, got: g)
        }
    }
}
