/// Why a graph file could not be read or written.
///
/// Each case names what it is about: a line and column for invalid JSON, the
/// node (by its name, or `nodes[i]` before its name is known) and the field
/// for everything else. ``description`` is one line, suitable after a
/// command-line tool's `error: ` prefix; ``description(file:)`` prefixes the
/// file's name (`graph.json:3:14: invalid JSON: ...`).
///
/// Graph validation (unknown or duplicate names, cycles, input counts, shape
/// rules) is the graph's own, and arrives wrapped as ``graph(_:)``.
///
/// ```swift
/// do {
///     _ = try GraphFile.load(contentsOf: "model.json")
/// } catch {
///     print("error: \(error.description(file: "model.json"))")
///     // error: model.json: node 'p': unknown op 'powr'
/// }
/// ```
public enum GraphFileError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read (missing, a directory, no permission).
    case unreadableFile(path: String, message: String)
    /// The bytes are not JSON; line and column are 1-based, columns count
    /// Unicode scalars.
    case invalidJSON(line: Int, column: Int, message: String)
    /// The document is JSON but not a graph file: the top level is not an
    /// object, or `"format"` is not `"backprop-graph"`. Holds what was found.
    case unknownFormat(found: String)
    /// `"version"` is a number other than 1 (the literal as written).
    case unsupportedVersion(String)
    /// `"dtype"` is neither `float32` nor `float64`.
    case unknownDType(String)
    /// A required field is absent. `node` is `nil` for a top-level field.
    case missingField(node: String?, field: String)
    /// A field has the wrong JSON type or an unusable value (a node name
    /// that is empty, a shape extent of -1 or 2.5, a rank above 4).
    case invalidField(node: String?, field: String, message: String)
    /// A field that this version does not define, or that the node's op does
    /// not take (`value` on an `add`).
    case unexpectedField(node: String?, field: String)
    /// The op is not in the catalog (custom ops cannot be loaded from a file).
    case unknownOp(node: String, op: String)
    /// An attribute is unknown for the op, missing, or of the wrong type or value.
    case invalidAttribute(node: String, attribute: String, message: String)
    /// A leaf's `value` does not have the structure its `shape` asks for.
    case valueShapeMismatch(node: String, message: String)
    /// A number is not finite in the graph's element type: `1e400` (or
    /// `1e39` in a `float32` graph) overflows. When writing: an infinite or
    /// NaN value, which JSON cannot express. `literal` is the number as text.
    case nonFiniteNumber(node: String, field: String, literal: String)
    /// A size beyond ``GraphFileLimits``: the file's bytes or nodes (`node`
    /// is `nil`), a node's elements, or the elements of all nodes together.
    case tooLarge(node: String?, message: String)
    /// The output does not hold exactly one element (the gradient seed).
    case nonScalarOutput(node: String, shape: Shape)
    /// A custom op cannot be written to a graph file.
    case customOp(node: String, op: String)
    /// The nodes do not form a valid graph: unknown or duplicate names,
    /// cycles (with the path), wrong input counts, shape and attribute
    /// errors. The ``GraphError`` names the node.
    case graph(GraphError)

    /// The error as one line; see also ``description(file:)``.
    public var description: String {
        switch self {
        case .unreadableFile(let path, let message):
            return "cannot read \(Self.quoted(path)): \(message)"
        case .invalidJSON(let line, let column, let message):
            return "invalid JSON at line \(line), column \(column): \(message)"
        case .unknownFormat(let found):
            return
                "not a backprop graph file: expected \"format\": \"backprop-graph\", found \(found)"
        case .unsupportedVersion(let version):
            return
                "unsupported graph file version \(Self.clipped(version)) (this reader reads version 1)"
        case .unknownDType(let dtype):
            return "unknown dtype \(Self.quoted(dtype)) (expected float32 or float64)"
        case .missingField(let node, let field):
            return Self.prefix(node) + "missing field \(Self.quoted(field))"
        case .invalidField(let node, let field, let message):
            return Self.prefix(node) + "field \(Self.quoted(field)): \(message)"
        case .unexpectedField(let node, let field):
            return Self.prefix(node) + "unexpected field \(Self.quoted(field))"
        case .unknownOp(let node, let op):
            return Self.prefix(node) + "unknown op \(Self.quoted(op))"
        case .invalidAttribute(let node, let attribute, let message):
            return Self.prefix(node) + "attribute \(Self.quoted(attribute)): \(message)"
        case .valueShapeMismatch(let node, let message):
            return Self.prefix(node) + "value does not match shape: \(message)"
        case .nonFiniteNumber(let node, let field, let literal):
            return Self.prefix(node)
                + "\(field) \(Self.clipped(literal)) is not a finite number"
                + " (graph files hold finite numbers only)"
        case .tooLarge(let node, let message):
            return Self.prefix(node) + "too large: \(message)"
        case .nonScalarOutput(let node, let shape):
            return "output node \(Self.quoted(node)) has shape \(shape); "
                + "a graph file's output must hold exactly one element"
        case .customOp(let node, let op):
            return Self.prefix(node)
                + "custom op \(Self.quoted(op)) cannot be written to a graph file"
        case .graph(let error):
            return error.description
        }
    }

    /// The error as one line that starts with the file's name:
    /// `graph.json:3:14: invalid JSON: ...` for a syntax error,
    /// `graph.json: node 'p': unknown op 'powr'` otherwise.
    public func description(file: String) -> String {
        if case .invalidJSON(let line, let column, let message) = self {
            return "\(file):\(line):\(column): invalid JSON: \(message)"
        }
        if case .unreadableFile = self { return description }
        return "\(file): \(description)"
    }

    private static func prefix(_ node: String?) -> String {
        node.map { "node \(quoted($0)): " } ?? ""
    }

    /// Text from the file as an error message shows it: in single quotes,
    /// control characters escaped, at most 64 characters.
    static func quoted(_ text: String) -> String {
        "'\(clipped(text))'"
    }

    /// Control characters escaped (`\u{A}`), clipped to 64 characters.
    static func clipped(_ text: String) -> String {
        var out = ""
        for (k, scalar) in text.unicodeScalars.enumerated() {
            if k == 64 {
                out += "…"
                break
            }
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
