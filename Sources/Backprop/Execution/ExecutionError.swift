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
    /// A run was started on an execution that is already running: from
    /// inside one of its own custom ops, or from two threads at once (give
    /// each thread its own ``Execution``).
    case alreadyRunning
    /// The memory an execution needs could not be had (or its size overflows).
    case outOfMemory(bytes: Int)

    public var description: String {
        switch self {
        case .invalidLabel(let n, let i, let v, let c):
            "node '\(n)': label \(v) at position \(i) is not a class index in 0..<\(c)"
        case .customOpFailed(let n, let op, let m): "node '\(n)': custom op '\(op)' failed: \(m)"
        case .invalidCustomOpResult(let n, let op, let m): "node '\(n)': custom op '\(op)' \(m)"
        case .invalidOrder(let m): "invalid evaluation order: \(m)"
        case .cotangentShape(let e, let g): "cotangent has shape \(g), the output has shape \(e)"
        case .outOfMemory(let bytes):
            bytes == Int.max
                ? "the execution's memory size overflows"
                : "could not allocate \(bytes) bytes for the execution"
        case .alreadyRunning:
            "this execution is already running (a re-entrant run from a custom op, or one Execution shared by two threads)"
        }
    }
}

extension ExecutionError {
    /// The same error, attributed to `node` (kernels do not know node names).
    func at(node: String) -> ExecutionError {
        switch self {
        case .invalidLabel(_, let i, let v, let c):
            .invalidLabel(node: node, index: i, value: v, classes: c)
        case .customOpFailed(_, let op, let m): .customOpFailed(node: node, op: op, message: m)
        case .invalidCustomOpResult(_, let op, let m):
            .invalidCustomOpResult(node: node, op: op, message: m)
        case .invalidOrder, .cotangentShape, .alreadyRunning, .outOfMemory: self
        }
    }
}
