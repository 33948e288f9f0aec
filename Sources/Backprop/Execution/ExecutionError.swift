/// Why running a valid graph failed on the values it was given.
public enum ExecutionError: Error, Equatable, CustomStringConvertible {
    /// A cross-entropy label is not an integer class index in `0..<classes`.
    case invalidLabel(node: String, index: Int, value: Double, classes: Int)
    /// A custom op's forward or VJP threw.
    case customOpFailed(node: String, op: String, message: String)
    /// A custom op returned a result that breaks its contract (a wrong shape
    /// or number of cotangents).
    case invalidCustomOpResult(node: String, op: String, message: String)
    /// An explicitly given evaluation order is not a topological order of
    /// the nodes the output depends on.
    case invalidOrder(String)
    /// A cotangent's shape does not match the output's.
    case cotangentShape(expected: Shape, got: Shape)

    public var description: String {
        switch self {
        case .invalidLabel(let n, let i, let v, let c):
            "node '\(n)': label \(v) at position \(i) is not a class index in 0..<\(c)"
        case .customOpFailed(let n, let op, let m): "node '\(n)': custom op '\(op)' failed: \(m)"
        case .invalidCustomOpResult(let n, let op, let m): "node '\(n)': custom op '\(op)' \(m)"
        case .invalidOrder(let m): "invalid evaluation order: \(m)"
        case .cotangentShape(let e, let g): "cotangent has shape \(g), the output has shape \(e)"
        }
    }
}
