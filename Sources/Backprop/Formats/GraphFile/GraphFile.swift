import Foundation

/// Graph files, format version 1: loading and writing graphs as JSON.
///
/// `docs/graph-format.md` is the normative specification. In short:
///
/// ```json
/// { "format": "backprop-graph", "version": 1, "dtype": "float64",
///   "nodes": [
///     {"name": "x", "op": "input", "shape": [], "value": 1.0},
///     {"name": "s", "op": "add", "inputs": ["x", "x"]},
///     {"name": "p", "op": "pow", "inputs": ["s"], "attributes": {"exponent": 2}}
///   ],
///   "output": "p" }
/// ```
///
/// ```swift
/// let loaded = try GraphFile.load(json: text)
/// guard case .float64(let graph) = loaded else { return }
/// let result = try ReferenceExecutor().gradients(graph)
/// result.output                          // 4.0
/// let text = try GraphFile.write(graph)  // loads back to the same graph
/// ```
///
/// Loading reads untrusted input: whatever the bytes, it returns a graph or
/// throws a ``GraphFileError``; it never traps, and it refuses sizes beyond
/// its ``GraphFileLimits`` before allocating them.
public enum GraphFile {
    /// The value of the `"format"` field.
    public static let formatName = "backprop-graph"
    /// The format version this library reads and writes.
    public static let version = 1

    /// Loads a graph from JSON text.
    ///
    /// - Parameters:
    ///   - json: The file's contents.
    ///   - limits: The largest file, node count and tensor sizes accepted.
    ///   - simplify: Whether to apply the simplifier's rewrites (see
    ///     ``RewriteRule``). Off by default, so the graph is exactly what the
    ///     file says and `write(_:)` gives the same nodes back.
    /// - Returns: The graph, in the file's element type.
    /// - Throws: ``GraphFileError``.
    public static func load(
        json: String, limits: GraphFileLimits = .default, simplify: Bool = false
    )
        throws(GraphFileError) -> AnyGraph
    {
        try load(bytes: Array(json.utf8), limits: limits, simplify: simplify)
    }

    /// Loads a graph from the UTF-8 bytes of a JSON document.
    ///
    /// See ``load(json:limits:simplify:)``.
    ///
    /// - Complexity: O(bytes + nodes + edges), plus the ops' shape rules.
    public static func load(
        bytes: [UInt8], limits: GraphFileLimits = .default, simplify: Bool = false
    ) throws(GraphFileError) -> AnyGraph {
        guard bytes.count <= limits.maxBytes else {
            throw .tooLarge(
                node: nil,
                message: "the file has \(bytes.count) bytes, the limit is \(limits.maxBytes)")
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            let (line, column) = JSONParser.location(of: error.offset, in: bytes)
            throw .invalidJSON(line: line, column: column, message: error.message)
        }
        return try GraphFileDecoder(limits: limits, simplify: simplify).decode(document)
    }

    /// Loads a graph from a file.
    ///
    /// The file is read in chunks and refused as soon as it exceeds
    /// ``GraphFileLimits/maxBytes``, so a pipe or a device (`/dev/stdin`,
    /// `/dev/zero`) is safe to pass.
    ///
    /// See ``load(json:limits:simplify:)``.
    ///
    /// - Throws: ``GraphFileError/unreadableFile(path:message:)`` when the
    ///   file cannot be opened or read (the system's reason, such as "No such
    ///   file or directory"), and what loading its contents throws.
    public static func load(
        contentsOf path: String, limits: GraphFileLimits = .default, simplify: Bool = false
    ) throws(GraphFileError) -> AnyGraph {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .unreadableFile(path: path, message: systemError()) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            guard count > 0 else {
                if errno == EINTR { continue }
                throw .unreadableFile(path: path, message: systemError())
            }
            guard count <= limits.maxBytes - bytes.count else {
                throw .tooLarge(
                    node: nil, message: "the file exceeds the limit of \(limits.maxBytes) bytes")
            }
            bytes.append(contentsOf: chunk[..<count])
        }
        return try load(bytes: bytes, limits: limits, simplify: simplify)
    }

    /// The description of `errno`.
    private static func systemError() -> String {
        String(cString: strerror(errno))
    }
}

/// A graph loaded from a file, in the file's element type (`"dtype"`).
public enum AnyGraph: Sendable {
    /// A `float32` graph.
    case float32(Graph<Float>)
    /// A `float64` graph.
    case float64(Graph<Double>)

    /// The element type.
    public var dtype: DType {
        switch self {
        case .float32: .float32
        case .float64: .float64
        }
    }
}

/// The largest graph file that loading accepts. Loading checks each size
/// before it allocates for it, so an absurd file costs an error, not memory.
///
/// Element limits count tensor elements (bytes are 4 per element for
/// `float32`, 8 for `float64`). They apply to every node, leaves and computed
/// nodes alike, at the shapes that shape inference gives them.
public struct GraphFileLimits: Sendable, Equatable {
    /// The most bytes of JSON (default 2³⁰, 1 GiB).
    public var maxBytes: Int
    /// The most nodes (default 2²⁴).
    public var maxNodes: Int
    /// The most elements in one node (default 2²⁸).
    public var maxElementsPerNode: Int
    /// The most elements in all nodes together (default 2³⁰).
    public var maxTotalElements: Int

    /// Creates limits; omitted ones take their default.
    public init(
        maxBytes: Int = 1 << 30, maxNodes: Int = 1 << 24, maxElementsPerNode: Int = 1 << 28,
        maxTotalElements: Int = 1 << 30
    ) {
        self.maxBytes = maxBytes
        self.maxNodes = maxNodes
        self.maxElementsPerNode = maxElementsPerNode
        self.maxTotalElements = maxTotalElements
    }

    /// The defaults.
    public static let `default` = GraphFileLimits()
}
