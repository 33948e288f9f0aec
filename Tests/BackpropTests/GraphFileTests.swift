import BackpropWorkloads
import Foundation
import Testing

@testable import Backprop

/// The case's name; the switch has no default, so a new case fails to compile here.
func caseName(_ e: GraphFileError) -> String {
    switch e {
    case .unreadableFile: "unreadableFile"
    case .invalidJSON: "invalidJSON"
    case .unknownFormat: "unknownFormat"
    case .unsupportedVersion: "unsupportedVersion"
    case .unknownDType: "unknownDType"
    case .missingField: "missingField"
    case .invalidField: "invalidField"
    case .unexpectedField: "unexpectedField"
    case .unknownOp: "unknownOp"
    case .invalidAttribute: "invalidAttribute"
    case .valueShapeMismatch: "valueShapeMismatch"
    case .nonFiniteNumber: "nonFiniteNumber"
    case .tooLarge: "tooLarge"
    case .nonScalarOutput: "nonScalarOutput"
    case .customOp: "customOp"
    case .graph(let g): "graph.\(caseName(g))"
    }
}

/// The design document's example (design.md §5), verbatim.
let designExample = """
    { "format": "backprop-graph", "version": 1, "dtype": "float64",
      "nodes": [
        {"name": "x", "op": "input", "shape": [], "value": 1.0},
        {"name": "W", "op": "input", "shape": [2, 3], "value": [[1, 2, 3], [4, 5, 6]]},
        {"name": "s", "op": "add", "inputs": ["x", "x"]},
        {"name": "p", "op": "pow", "inputs": ["s"], "attributes": {"exponent": 2}}
      ],
      "output": "p" }
    """

/// Whether two graphs have the same nodes: names, ops with their
/// attributes, parents, shapes, leaf values (bitwise) and output.
func expectSameGraph<T>(
    _ a: Graph<T>, _ b: Graph<T>, _ context: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(a.count == b.count, "\(context)", sourceLocation: sourceLocation)
    #expect(a.output == b.output, "\(context)", sourceLocation: sourceLocation)
    guard a.count == b.count else { return }
    let names = GraphFile.fileNames(a)
    for i in 0..<a.count {
        // Unnamed nodes (and invalid names) get their file name.
        let same =
            names[i] == b.name(of: i) && "\(a.op(of: i))" == "\(b.op(of: i))"
            && Array(a.parents(of: i)) == Array(b.parents(of: i))
            && a.shape(of: i) == b.shape(of: i)
        #expect(same, "\(context): node \(i) \(a.name(of: i))", sourceLocation: sourceLocation)
        switch (a.value(of: i), b.value(of: i)) {
        case (nil, nil): break
        case (let x?, let y?):
            #expect(x.isBitwiseEqual(to: y), "\(context): value of \(a.name(of: i))")
        default:
            Issue.record("\(context): value of \(a.name(of: i))", sourceLocation: sourceLocation)
        }
    }
}

/// Writes, loads, compares, and writes again: the text must be a fixed point.
func expectRoundTrip<T: TensorElement>(
    _ graph: Graph<T>, _ context: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let text = try GraphFile.write(graph)
    let loaded = try GraphFile.load(json: text)
    #expect(loaded.dtype == T.dtype, sourceLocation: sourceLocation)
    let back: Graph<T>
    switch loaded {
    case .float32(let g): back = try #require(g as? Graph<T>)
    case .float64(let g): back = try #require(g as? Graph<T>)
    }
    expectSameGraph(graph, back, context, sourceLocation: sourceLocation)
    #expect(try GraphFile.write(back) == text, "\(context)", sourceLocation: sourceLocation)
}

/// Whether graph files can hold the kind. The switch has no default: a new op
/// must be decided here (and then handled by the loader and writer).
func isWritable(_ kind: OpKind) -> Bool {
    switch kind {
    case .input, .parameter, .constant, .identity, .add, .sub, .mul, .div, .neg, .exp, .log,
        .sqrt, .pow, .tanh, .sigmoid, .relu, .sin, .cos, .abs, .matmul, .sum, .mean, .max,
        .reshape, .transpose, .broadcast, .slice, .concat, .softmax, .logSoftmax, .crossEntropy,
        .sigmoidCrossEntropy:
        true
    case .custom: false
    }
}

@Suite struct GraphFileTests {
    // MARK: - Loading valid files

    @Test func designExampleLoadsAndEvaluates() throws {
        guard case .float64(let graph) = try GraphFile.load(json: designExample) else {
            Issue.record("expected a float64 graph")
            return
        }
        #expect(graph.count == 4)
        #expect(graph.name(of: graph.output) == "p")
        #expect(graph.shape(of: graph.node(named: "W")!) == [2, 3])
        // p = (x + x)² = 4 at x = 1; dp/dx = 2·(x + x)·2 = 8; W is unused.
        let r = try ReferenceExecutor().gradients(graph)
        #expect(r.output.scalar == 4)
        #expect(r.gradients["x"]?.scalar == 8)
        #expect(r.gradients["W"] == .zeros([2, 3]))
        #expect(graph.value(of: graph.node(named: "W")!)?.scalars == [1, 2, 3, 4, 5, 6])
        #expect(try GraphFile.write(.float64(graph)) == GraphFile.write(graph))

        let float32 = designExample.replacingOccurrences(of: "float64", with: "float32")
        guard case .float32(let g32) = try GraphFile.load(json: float32) else {
            Issue.record("expected a float32 graph")
            return
        }
        let r32 = try ReferenceExecutor().gradients(g32)
        #expect(r32.output.scalar == 4)
        #expect(r32.gradients["x"]?.scalar == 8)
    }

    @Test func loadingDoesNotSimplifyUnlessAsked() throws {
        let text = """
            {"format": "backprop-graph", "version": 1, "dtype": "float64", "nodes": [
              {"name": "x", "op": "input", "shape": [], "value": 42},
              {"name": "e", "op": "exp", "inputs": ["x"]},
              {"name": "l", "op": "log", "inputs": ["e"]}],
             "output": "l"}
            """
        guard case .float64(let plain) = try GraphFile.load(json: text),
            case .float64(let simplified) = try GraphFile.load(json: text, simplify: true)
        else {
            Issue.record("expected float64 graphs")
            return
        }
        #expect(plain.rewrites.isEmpty)
        #expect(plain.op(of: 2).kind == .log)
        #expect(simplified.rewrites.map(\.rule) == [.logOfExp])
        #expect(simplified.op(of: 2).kind == .identity)
        try expectRoundTrip(simplified, "simplified")
    }

    @Test func numbersAreExactAndAttributesDefault() throws {
        let text = """
            {"format": "backprop-graph", "version": 1, "dtype": "float32", "nodes": [
              {"name": "x", "op": "input", "shape": [2, 2],
               "value": [[0.1, -0.0], [1e-45, 3.4028234663852886e38]]},
              {"name": "sm", "op": "softmax", "inputs": ["x"]},
              {"name": "t", "op": "transpose", "inputs": ["sm"], "attributes": {}},
              {"name": "s", "op": "sum", "inputs": ["t"], "attributes": {"axes": [0.0, 1e0]}}],
             "output": "s", "version": 1}
            """
        // "version" twice: a duplicate key.
        #expect(
            throws: GraphFileError.invalidJSON(
                line: 7, column: 17, message: "duplicate key 'version'")
        ) {
            try GraphFile.load(json: text)
        }
        let fixed = text.replacingOccurrences(of: ", \"version\": 1}", with: "}")
        guard case .float32(let g) = try GraphFile.load(json: fixed) else {
            Issue.record("expected a float32 graph")
            return
        }
        let x = try #require(g.value(of: 0))
        #expect(x.scalars[0] == Float("0.1"))
        #expect(x.scalars[1].sign == .minus && x.scalars[1] == 0)
        #expect(x.scalars[2] == Float.leastNonzeroMagnitude)
        #expect(x.scalars[3] == Float.greatestFiniteMagnitude)
        #expect("\(g.op(of: 1))" == "\(Op.loss(.softmax(axis: -1)))")
        #expect("\(g.op(of: 2))" == "\(Op.movement(.transpose(permutation: nil)))")
        #expect("\(g.op(of: 3))" == "\(Op.reduce(.sum, axes: [0, 1], keepDims: false))")
        try expectRoundTrip(g, "exact numbers")
    }

    @Test func unicodeNamesAndEscapes() throws {
        let text = """
            {"format": "backprop-graph", "version": 1, "dtype": "float64", "nodes": [
              {"name": "caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\/", "op": "input", "shape": [],
               "value": 2},
              {"name": "résumé", "op": "neg", "inputs": ["café 😀 \\"q\\" \\\\ /"]}],
             "output": "r\\u00e9sum\\u00E9"}
            """
        guard case .float64(let g) = try GraphFile.load(json: text) else {
            Issue.record("expected a float64 graph")
            return
        }
        #expect(g.name(of: 0) == "café 😀 \"q\" \\ /")
        #expect(g.name(of: g.output) == "résumé")
        try expectRoundTrip(g, "unicode")
    }

    // MARK: - Round trips

    /// Every op of the catalog, through the catalog test's cases, in both
    /// element types: written, loaded and compared node by node.
    @Test(arguments: OpKind.allCases)
    func roundTripEveryOp(kind: OpKind) throws {
        for (k, c) in catalogCases(kind).enumerated() {
            try roundTrip(c, kind: kind, Double.self, seed: UInt64(300 + k))
            try roundTrip(c, kind: kind, Float.self, seed: UInt64(400 + k))
        }
    }

    func roundTrip<T: TensorElement>(_ c: OpCase, kind: OpKind, _: T.Type, seed: UInt64) throws {
        var rng = WorkloadGenerator(seed: seed)
        let b = GraphBuilder<T>()
        var nodes: [Node<T>] = []
        for (k, shape) in c.shapes.enumerated() {
            if let labels = c.labels, labels.input == k {
                let values = (0..<shape.count).map { _ in T(rng.int(labels.classes)) }
                nodes.append(b.constant(try Tensor(shape: shape, scalars: values)))
            } else if k == 1 {
                nodes.append(b.input("x\(k)", shape: shape))  // no default value
            } else {
                nodes.append(b.input("x\(k)", .random(shape, &rng, c.domain.0, c.domain.1)))
            }
        }
        var y = b.apply(c.op, nodes)
        switch kind {
        case .parameter: y = b.parameter("p", .random([2, 3], &rng)) * y
        case .constant: y = b.constant(.random([2, 3], &rng)) * y
        default: break
        }
        let shape = try b.build(output: y, simplify: false).shape(of: y.id)
        let graph = try b.build(output: (y * b.constant(.random(shape, &rng))).sum())
        let context = "\(kind) \(c) \(T.self)"
        guard isWritable(kind) else {
            #expect(throws: GraphFileError.customOp(node: "\(c.op.name)#\(y.id)", op: c.op.name)) {
                try GraphFile.write(graph)
            }
            return
        }
        let text = try GraphFile.write(graph)
        #expect(text.contains("\"op\": \"\(kind.rawValue)\""), "\(context)")
        try expectRoundTrip(graph, context)
    }

    @Test func roundTripRandomGraphs() throws {
        for seed in 0..<6 as Range<UInt64> {
            var generator = RandomGraph(seed: seed)
            try expectRoundTrip(try generator.tensor(Double.self, steps: 20), "tensor \(seed)")
            try expectRoundTrip(try generator.tensor(Float.self, steps: 20), "tensor \(seed) f32")
            try expectRoundTrip(try generator.scalar(Double.self, nodes: 60), "scalar \(seed)")
        }
    }

    @Test func extremeValuesRoundTripBitwise() throws {
        let doubles: [Double] = [
            0.1, -0.0, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
            -.pi, 1e300, 123_456_789_012_345_680, .leastNormalMagnitude / 3, 1.0000000000000002,
        ]
        let b = GraphBuilder<Double>()
        let x = b.parameter("x", Tensor(doubles))
        try expectRoundTrip(try b.build(output: x.sum()), "double extremes")
        let b32 = GraphBuilder<Float>()
        let x32 = b32.parameter(
            "x", Tensor(doubles.map { Float($0) }.filter(\.isFinite) + [.ulpOfOne, 16_777_215]))
        try expectRoundTrip(try b32.build(output: x32.sum()), "float extremes")
        // pow exponents are Doubles in both element types.
        let e = b32.apply(.unary(.pow(0.1)), [x32.sum()])
        try expectRoundTrip(try b32.build(output: e), "float pow")
    }

    // MARK: - Writing

    @Test func writtenNamesAreUniqueAndValid() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("", 1.0)  // empty: not a valid name
        let y = b.input("a\nb", 2.0)  // a control character
        let s = (x + y).named("add#3")  // the display name of node 3
        let t = b.apply(.binary(.mul), [s, x])  // node 3, unnamed: "mul#3"
        let u = b.apply(.binary(.add), [t, s])  // node 4: "add#4"
        let graph = try b.build(output: u)
        let names = GraphFile.fileNames(graph)
        #expect(names == ["input#0", "input#1", "add#3", "mul#3", "add#4"])
        let b2 = GraphBuilder<Double>()
        let z = b2.input("add#1", 1.0)
        _ = b2.apply(.binary(.add), [z, z])
        let g2 = try b2.build(output: b2.apply(.binary(.add), [z, z]).named("out"))
        // Node 1 is unnamed; its display name is taken by node 0: suffixed.
        #expect(GraphFile.fileNames(g2) == ["add#1", "add#1_2", "out"])
        try expectRoundTrip(g2, "renamed")
        // The written text is one node per line.
        let text = try GraphFile.write(g2)
        #expect(text.split(separator: "\n").filter { $0.contains("\"name\"") }.count == 3)
    }

    @Test func writerRefusesWhatAFileCannotHold() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", Tensor([1, .infinity]))
        #expect(throws: GraphFileError.nonFiniteNumber(node: "x", field: "value", literal: "inf")) {
            try GraphFile.write(b.build(output: x.sum()))
        }
        let b2 = GraphBuilder<Float>()
        let p = b2.apply(.unary(.pow(.nan)), [b2.input("x", 1.0)], name: "p")
        #expect(
            throws: GraphFileError.nonFiniteNumber(node: "p", field: "exponent", literal: "nan")
        ) {
            try GraphFile.write(b2.build(output: p))
        }
        let b3 = GraphBuilder<Double>()
        let v = b3.input("v", .zeros([3])).exp().named("v_exp")
        #expect(throws: GraphFileError.nonScalarOutput(node: "v_exp", shape: [3])) {
            try GraphFile.write(b3.build(output: v))
        }
        let b4 = GraphBuilder<Double>()
        let sq = ClosureOp<Double>(name: "square", forward: { $0[0] }, vjp: { _, _, g in [g] })
        let c = sq(b4.input("x", 1.0)).named("sq")
        #expect(throws: GraphFileError.customOp(node: "sq", op: "square")) {
            try GraphFile.write(b4.build(output: c))
        }
    }

    // MARK: - Malformed files

    /// A minimal valid file around the given nodes.
    static func file(_ nodes: String, output: String = "y", dtype: String = "float64") -> String {
        """
        {"format": "backprop-graph", "version": 1, "dtype": "\(dtype)", "nodes": [
        \(nodes)
        ], "output": "\(output)"}
        """
    }

    static let x = #"{"name": "x", "op": "input", "shape": [], "value": 1}"#

    /// One or more files per error kind, each with the exact error.
    static let corpus: [(String, String, GraphFileError)] = [
        // invalidJSON
        (
            "empty", "",
            .invalidJSON(
                line: 1, column: 1, message: "expected a value, found the end of the input")
        ),
        (
            "truncated", #"{"format": "backprop-graph", "version": 1"#,
            .invalidJSON(
                line: 1, column: 42,
                message: "expected ',' or '}' in an object, found the end of the input")
        ),
        (
            "missing comma", "{\n  \"format\": \"backprop-graph\"\n  \"version\": 1}",
            .invalidJSON(
                line: 3, column: 3, message: "expected ',' or '}' in an object, found '\"'")
        ),
        (
            "trailing garbage", "{} x",
            .invalidJSON(line: 1, column: 4, message: "unexpected 'x' after the top-level value")
        ),
        (
            "trailing comma", "[1, ]",
            .invalidJSON(line: 1, column: 5, message: "expected a value, found ']'")
        ),
        (
            "leading zero", "[01]",
            .invalidJSON(line: 1, column: 3, message: "a number cannot start with a leading zero")
        ),
        (
            "bare dot", "[1.]",
            .invalidJSON(line: 1, column: 4, message: "expected a digit after '.', found ']'")
        ),
        (
            "nan literal", "[NaN]",
            .invalidJSON(line: 1, column: 2, message: "expected a value, found 'N'")
        ),
        (
            "infinity literal", "[-Infinity]",
            .invalidJSON(line: 1, column: 3, message: "expected a digit, found 'I'")
        ),
        (
            "bad literal", "[tru]",
            .invalidJSON(line: 1, column: 2, message: "invalid literal; expected 'true'")
        ),
        (
            "single quotes", "{'a': 1}",
            .invalidJSON(line: 1, column: 2, message: "expected a string key, found '''")
        ),
        (
            "bad escape", #"["\x"]"#,
            .invalidJSON(line: 1, column: 4, message: "invalid escape '\\' followed by 'x'")
        ),
        (
            "lone high surrogate", #"["\ud800x"]"#,
            .invalidJSON(line: 1, column: 3, message: "unpaired surrogate in \\u escape")
        ),
        (
            "lone low surrogate", #"["\udc00"]"#,
            .invalidJSON(line: 1, column: 3, message: "unpaired surrogate in \\u escape")
        ),
        (
            "short \\u", #"["\u12"]"#,
            .invalidJSON(
                line: 1, column: 7,
                message: "expected a hexadecimal digit in \\u escape, found '\"'")
        ),
        (
            "raw newline in string", "[\"a\nb\"]",
            .invalidJSON(
                line: 1, column: 4,
                message: "control character byte 0x0A in a string must be escaped")
        ),
        (
            "unterminated string", "[\"abc",
            .invalidJSON(line: 1, column: 6, message: "unterminated string")
        ),
        (
            "duplicate key", #"{"a": 1, "a": 2}"#,
            .invalidJSON(line: 1, column: 10, message: "duplicate key 'a'")
        ),
        (
            "too deep", String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
            .invalidJSON(line: 1, column: 65, message: "nesting deeper than 64 levels")
        ),
        // unknownFormat, unsupportedVersion, unknownDType
        ("top-level array", "[1, 2]", .unknownFormat(found: "an array at the top level")),
        ("other format", #"{"format": "onnx"}"#, .unknownFormat(found: "'onnx'")),
        ("format not a string", #"{"format": 1}"#, .unknownFormat(found: "a number")),
        ("version 2", #"{"format": "backprop-graph", "version": 2}"#, .unsupportedVersion("2")),
        (
            "version 1.5", #"{"format": "backprop-graph", "version": 1.5}"#,
            .unsupportedVersion("1.5")
        ),
        (
            "float16", #"{"format": "backprop-graph", "version": 1, "dtype": "float16"}"#,
            .unknownDType("float16")
        ),
        // missingField, invalidField, unexpectedField
        (
            "no version", #"{"format": "backprop-graph"}"#,
            .missingField(node: nil, field: "version")
        ),
        (
            "no output",
            #"{"format": "backprop-graph", "version": 1, "dtype": "float64", "nodes": []}"#,
            .missingField(node: nil, field: "output")
        ),
        ("no op", file(#"{"name": "y"}"#), .missingField(node: "y", field: "op")),
        ("no name", file(#"{"op": "input"}"#), .missingField(node: "nodes[0]", field: "name")),
        (
            "no shape", file(#"{"name": "y", "op": "input", "value": 1}"#),
            .missingField(node: "y", field: "shape")
        ),
        (
            "constant without value", file(#"{"name": "y", "op": "constant", "shape": []}"#),
            .missingField(node: "y", field: "value")
        ),
        (
            "version as string", #"{"format": "backprop-graph", "version": "1"}"#,
            .invalidField(node: nil, field: "version", message: "expected a number, found a string")
        ),
        (
            "nodes not an array",
            #"{"format": "backprop-graph", "version": 1, "dtype": "float64", "nodes": {}, "output": "y"}"#,
            .invalidField(node: nil, field: "nodes", message: "expected an array, found an object")
        ),
        (
            "node not an object", file("3"),
            .invalidField(
                node: nil, field: "nodes[0]", message: "expected an object, found a number")
        ),
        (
            "empty name", file(#"{"name": "", "op": "input", "shape": [], "value": 1}"#),
            .invalidField(
                node: "nodes[0]", field: "name",
                message:
                    "'' is not a valid node name (names are non-empty and hold no control characters)"
            )
        ),
        (
            "control in name", file(#"{"name": "a\nb", "op": "input", "shape": [], "value": 1}"#),
            .invalidField(
                node: "nodes[0]", field: "name",
                message:
                    "'a\\u{A}b' is not a valid node name (names are non-empty and hold no control characters)"
            )
        ),
        (
            "op not a string", file(#"{"name": "y", "op": 3}"#),
            .invalidField(node: "y", field: "op", message: "expected a string, found a number")
        ),
        (
            "inputs not an array", file(x + #", {"name": "y", "op": "exp", "inputs": "x"}"#),
            .invalidField(
                node: "y", field: "inputs",
                message: "expected an array of node names, found a string")
        ),
        (
            "input not a name", file(x + #", {"name": "y", "op": "exp", "inputs": [0]}"#),
            .invalidField(
                node: "y", field: "inputs",
                message: "expected a node name (a string), found a number")
        ),
        (
            "negative extent", file(#"{"name": "y", "op": "input", "shape": [-1]}"#),
            .invalidField(node: "y", field: "shape", message: "extent -1 is not positive")
        ),
        (
            "zero extent", file(#"{"name": "y", "op": "input", "shape": [2, 0]}"#),
            .invalidField(node: "y", field: "shape", message: "extent 0 is not positive")
        ),
        (
            "fractional extent", file(#"{"name": "y", "op": "input", "shape": [2.5]}"#),
            .invalidField(node: "y", field: "shape", message: "extent 2.5 is not an integer")
        ),
        (
            "rank 5", file(#"{"name": "y", "op": "input", "shape": [1, 1, 1, 1, 1]}"#),
            .invalidField(node: "y", field: "shape", message: "rank 5 exceeds the maximum rank 4")
        ),
        (
            "shape not an array", file(#"{"name": "y", "op": "input", "shape": 3}"#),
            .invalidField(
                node: "y", field: "shape", message: "expected an array of extents, found a number")
        ),
        (
            "unknown top-level field",
            #"{"format": "backprop-graph", "version": 1, "dtype": "float64", "extra": 0}"#,
            .unexpectedField(node: nil, field: "extra")
        ),
        (
            "value on a computed node",
            file(x + #", {"name": "y", "op": "exp", "inputs": ["x"], "value": 1}"#),
            .unexpectedField(node: "y", field: "value")
        ),
        (
            "inputs on a leaf", file(#"{"name": "y", "op": "input", "shape": [], "inputs": []}"#),
            .unexpectedField(node: "y", field: "inputs")
        ),
        (
            "misspelt field", file(#"{"name": "y", "op": "input", "shape": [], "valeu": 1}"#),
            .unexpectedField(node: "y", field: "valeu")
        ),
        // unknownOp
        (
            "powr", file(x + #", {"name": "y", "op": "powr", "inputs": ["x"]}"#),
            .unknownOp(node: "y", op: "powr")
        ),
        (
            "custom", file(x + #", {"name": "y", "op": "custom", "inputs": ["x"]}"#),
            .unknownOp(node: "y", op: "custom")
        ),
        (
            "camel case", file(x + #", {"name": "y", "op": "logSoftmax", "inputs": ["x"]}"#),
            .unknownOp(node: "y", op: "logSoftmax")
        ),
        // invalidAttribute
        (
            "missing exponent", file(x + #", {"name": "y", "op": "pow", "inputs": ["x"]}"#),
            .invalidAttribute(
                node: "y", attribute: "exponent", message: "missing; the op requires it")
        ),
        (
            "exponent as string",
            file(
                x
                    + #", {"name": "y", "op": "pow", "inputs": ["x"], "attributes": {"exponent": "2"}}"#
            ),
            .invalidAttribute(
                node: "y", attribute: "exponent", message: "expected a number, found a string")
        ),
        (
            "unknown attribute",
            file(
                x + #", {"name": "y", "op": "pow", "inputs": ["x"], "attributes": {"exponnet": 2}}"#
            ),
            .invalidAttribute(
                node: "y", attribute: "exponnet", message: "unknown for pow, which takes 'exponent'"
            )
        ),
        (
            "attribute on exp",
            file(x + #", {"name": "y", "op": "exp", "inputs": ["x"], "attributes": {"axis": 0}}"#),
            .invalidAttribute(node: "y", attribute: "axis", message: "exp takes no attributes")
        ),
        (
            "fractional axis",
            file(
                x + #", {"name": "y", "op": "sum", "inputs": ["x"], "attributes": {"axes": [0.5]}}"#
            ),
            .invalidAttribute(node: "y", attribute: "axes", message: "0.5 is not an integer")
        ),
        (
            "huge axis",
            file(
                x
                    + #", {"name": "y", "op": "softmax", "inputs": ["x"], "attributes": {"axis": 1e30}}"#
            ),
            .invalidAttribute(node: "y", attribute: "axis", message: "1e30 is out of range")
        ),
        (
            "keep_dims not a bool",
            file(
                x
                    + #", {"name": "y", "op": "sum", "inputs": ["x"], "attributes": {"keep_dims": 1}}"#
            ),
            .invalidAttribute(
                node: "y", attribute: "keep_dims", message: "expected true or false, found a number"
            )
        ),
        (
            "attributes not an object",
            file(x + #", {"name": "y", "op": "sum", "inputs": ["x"], "attributes": []}"#),
            .invalidField(
                node: "y", field: "attributes", message: "expected an object, found an array")
        ),
        // valueShapeMismatch
        (
            "ragged value",
            file(#"{"name": "y", "op": "input", "shape": [2, 2], "value": [[1, 2], [3]]}"#),
            .valueShapeMismatch(node: "y", message: "value[1] has 1 entries, shape [2, 2] needs 2")
        ),
        (
            "scalar as array", file(#"{"name": "y", "op": "input", "shape": [], "value": [1]}"#),
            .valueShapeMismatch(
                node: "y", message: "expected a number at value for shape [], found an array")
        ),
        (
            "too shallow", file(#"{"name": "y", "op": "input", "shape": [2, 1], "value": [1, 2]}"#),
            .valueShapeMismatch(
                node: "y",
                message: "expected an array of 1 at value[0] for shape [2, 1], found a number")
        ),
        (
            "string element",
            file(#"{"name": "y", "op": "input", "shape": [1], "value": ["inf"]}"#),
            .valueShapeMismatch(
                node: "y", message: "expected a number at value[0] for shape [1], found a string")
        ),
        // nonFiniteNumber
        (
            "1e400", file(#"{"name": "y", "op": "input", "shape": [1], "value": [1e400]}"#),
            .nonFiniteNumber(node: "y", field: "value", literal: "1e400")
        ),
        (
            "1e39 in float32",
            file(#"{"name": "y", "op": "input", "shape": [], "value": -1e39}"#, dtype: "float32"),
            .nonFiniteNumber(node: "y", field: "value", literal: "-1e39")
        ),
        (
            "exponent 1e400",
            file(
                x
                    + #", {"name": "y", "op": "pow", "inputs": ["x"], "attributes": {"exponent": 1e400}}"#
            ),
            .nonFiniteNumber(node: "y", field: "exponent", literal: "1e400")
        ),
        // tooLarge
        (
            "extent 1e30", file(#"{"name": "y", "op": "input", "shape": [1e30]}"#),
            .tooLarge(node: "y", message: "extent 1e30 in its shape")
        ),
        (
            "extent beyond Int",
            file(#"{"name": "y", "op": "input", "shape": [99999999999999999999]}"#),
            .tooLarge(node: "y", message: "extent 99999999999999999999 in its shape")
        ),
        (
            "product beyond Int",
            file(#"{"name": "y", "op": "input", "shape": [4294967296, 4294967296]}"#),
            .tooLarge(
                node: "y",
                message: "shape [4294967296, 4294967296] has more elements than fit in Int")
        ),
        (
            "leaf beyond the node limit",
            file(#"{"name": "y", "op": "input", "shape": [65536, 65536]}"#),
            .tooLarge(node: "y", message: "4294967296 elements, the limit is 268435456 per node")
        ),
        (
            "computed node beyond the limit",
            file(
                x
                    + #", {"name": "b", "op": "broadcast", "inputs": ["x"], "attributes": {"shape": [65536, 65536]}}, {"name": "y", "op": "sum", "inputs": ["b"]}"#
            ),
            .tooLarge(node: "b", message: "4294967296 elements, the limit is 268435456 per node")
        ),
        (
            "leaves beyond the total limit",
            file(
                (0..<5).map { #"{"name": "a\#($0)", "op": "input", "shape": [16384, 16384]}"# }
                    .joined(separator: ", ")),
            .tooLarge(
                node: "a4",
                message:
                    "the nodes up to this one hold more than 1073741824 elements, the limit for all nodes together"
            )
        ),
        // nonScalarOutput
        (
            "vector output", file(#"{"name": "y", "op": "input", "shape": [2], "value": [1, 2]}"#),
            .nonScalarOutput(node: "y", shape: [2])
        ),
        // graph errors
        (
            "unknown input", file(#"{"name": "y", "op": "exp", "inputs": ["nope"]}"#),
            .graph(.unknownName("nope", referencedBy: "y"))
        ),
        ("unknown output", file(x, output: "z"), .graph(.unknownName("z", referencedBy: "output"))),
        ("no nodes", file("", output: "z"), .graph(.unknownName("z", referencedBy: "output"))),
        ("duplicate name", file(x + ", " + x, output: "x"), .graph(.duplicateName("x"))),
        (
            "missing input", file(x + #", {"name": "y", "op": "add", "inputs": ["x"]}"#),
            .graph(.wrongInputCount(node: "y", op: "add", expected: "2", got: 1))
        ),
        (
            "extra input", file(x + #", {"name": "y", "op": "exp", "inputs": ["x", "x"]}"#),
            .graph(.wrongInputCount(node: "y", op: "exp", expected: "1", got: 2))
        ),
        (
            "no inputs", file(#"{"name": "y", "op": "matmul"}"#),
            .graph(.wrongInputCount(node: "y", op: "matmul", expected: "2", got: 0))
        ),
        (
            "cycle",
            file(
                x
                    + #", {"name": "y", "op": "add", "inputs": ["x", "z"]}, {"name": "z", "op": "exp", "inputs": ["y"]}"#
            ),
            .graph(.cycle(path: ["y", "z", "y"]))
        ),
        (
            "self loop", file(#"{"name": "y", "op": "exp", "inputs": ["y"]}"#),
            .graph(.cycle(path: ["y", "y"]))
        ),
        (
            "shape mismatch",
            file(
                #"{"name": "a", "op": "input", "shape": [2], "value": [1, 2]}, {"name": "b", "op": "input", "shape": [3], "value": [1, 2, 3]}, {"name": "y", "op": "add", "inputs": ["a", "b"]}"#
            ),
            .graph(
                .shapeMismatch(
                    node: "y", message: "shapes [2] and [3] cannot be broadcast together"))
        ),
        (
            "axis out of range",
            file(
                x + #", {"name": "y", "op": "softmax", "inputs": ["x"], "attributes": {"axis": 3}}"#
            ),
            .graph(.invalidAttribute(node: "y", message: "axis 3 is out of range for shape []"))
        ),
        (
            "bad reshape",
            file(
                x
                    + #", {"name": "y", "op": "reshape", "inputs": ["x"], "attributes": {"shape": [-1, -1]}}"#
            ),
            .graph(.invalidAttribute(node: "y", message: "at most one extent may be -1"))
        ),
    ]

    @Test func malformedCorpus() throws {
        var seen: Set<String> = []
        for (label, text, expected) in Self.corpus {
            do {
                _ = try GraphFile.load(json: text)
                Issue.record("\(label): loaded")
            } catch {
                #expect(error == expected, "\(label)")
                seen.insert(caseName(error))
                // One line, naming the node where there is one.
                #expect(!error.description.contains("\n"), "\(label)")
                if case .graph(let g) = error {
                    #expect(error.description.contains("'\(g.node)'"), "\(label): \(error)")
                }
            }
        }
        // The file-level cases, produced by load(contentsOf:) and write.
        #expect(
            throws: GraphFileError.unreadableFile(
                path: "/nonexistent/g.json", message: "No such file or directory")
        ) {
            try GraphFile.load(contentsOf: "/nonexistent/g.json")
        }
        seen.insert("unreadableFile")
        seen.insert("customOp")  // writerRefusesWhatAFileCannotHold
        let all: Set<String> = [
            "unreadableFile", "invalidJSON", "unknownFormat", "unsupportedVersion", "unknownDType",
            "missingField", "invalidField", "unexpectedField", "unknownOp", "invalidAttribute",
            "valueShapeMismatch", "nonFiniteNumber", "tooLarge", "nonScalarOutput", "customOp",
            "graph.unknownName", "graph.duplicateName", "graph.wrongInputCount", "graph.cycle",
            "graph.shapeMismatch", "graph.invalidAttribute",
        ]
        #expect(seen == all)
    }

    @Test func invalidUTF8AndByteInput() throws {
        // 0xC3 0x28: a lead byte without its continuation, inside a string.
        var bytes = Array(#"{"format": "backprop-graph", "x": ""#.utf8)
        bytes += [0xC3, 0x28, UInt8(ascii: "\""), UInt8(ascii: "}")]
        #expect(
            throws: GraphFileError.invalidJSON(
                line: 1, column: 36, message: "invalid UTF-8 sequence in a string")
        ) {
            try GraphFile.load(bytes: bytes)
        }
        // An overlong encoding of '/', and a byte outside any string.
        #expect(
            throws: GraphFileError.invalidJSON(
                line: 1, column: 3, message: "invalid UTF-8: unexpected byte 0xC0 in a string")
        ) {
            try GraphFile.load(bytes: [UInt8(ascii: "["), UInt8(ascii: "\""), 0xC0, 0xAF])
        }
        #expect(
            throws: GraphFileError.invalidJSON(
                line: 1, column: 1, message: "expected a value, found byte 0xFF")
        ) {
            try GraphFile.load(bytes: [0xFF])
        }
        // A byte order mark is skipped.
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(designExample.utf8)
        #expect(try GraphFile.load(bytes: bom).dtype == .float64)
    }

    @Test func limitsAreConfigurable() throws {
        let tight = GraphFileLimits(maxBytes: 100)
        #expect(
            throws: GraphFileError.tooLarge(
                node: nil,
                message: "the file has \(designExample.utf8.count) bytes, the limit is 100")
        ) {
            try GraphFile.load(json: designExample, limits: tight)
        }
        #expect(
            throws: GraphFileError.tooLarge(
                node: nil, message: "the file has 4 nodes, the limit is 3")
        ) {
            try GraphFile.load(json: designExample, limits: GraphFileLimits(maxNodes: 3))
        }
        #expect(
            throws: GraphFileError.tooLarge(
                node: "W", message: "6 elements, the limit is 5 per node")
        ) {
            try GraphFile.load(json: designExample, limits: GraphFileLimits(maxElementsPerNode: 5))
        }
        // Leaves hold 7 elements, all nodes 9.
        #expect(
            throws: GraphFileError.tooLarge(
                node: "p",
                message:
                    "the nodes up to this one hold more than 8 elements, the limit for all nodes together"
            )
        ) {
            try GraphFile.load(json: designExample, limits: GraphFileLimits(maxTotalElements: 8))
        }
        #expect(
            try GraphFile.load(json: designExample, limits: GraphFileLimits(maxTotalElements: 9))
                .dtype == .float64)
    }

    @Test func descriptionsAreOneLineWithTheFile() throws {
        let json = GraphFileError.invalidJSON(
            line: 3, column: 14, message: "expected ',' or '}' in an object, found 'x'")
        #expect(
            json.description(file: "graph.json")
                == "graph.json:3:14: invalid JSON: expected ',' or '}' in an object, found 'x'")
        #expect(
            json.description
                == "invalid JSON at line 3, column 14: expected ',' or '}' in an object, found 'x'")
        let op = GraphFileError.unknownOp(node: "p", op: "powr")
        #expect(op.description == "node 'p': unknown op 'powr'")
        #expect(op.description(file: "g.json") == "g.json: node 'p': unknown op 'powr'")
        let long = GraphFileError.unknownOp(
            node: "p", op: String(repeating: "a", count: 100) + "\n")
        #expect(!long.description.contains("\n") && long.description.hasSuffix("…'"))
        #expect(
            GraphFileError.graph(.cycle(path: ["a", "b", "a"])).description
                == "cycle: 'a' -> 'b' -> 'a'")
    }

    @Test func loadsFromAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "backprop-graph-\(UInt64.random(in: 0...UInt64.max)).json"
        ).path
        try designExample.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try GraphFile.load(contentsOf: path).dtype == .float64)
        // Read in bounded chunks: an endless device is refused, not read.
        #expect(
            throws: GraphFileError.tooLarge(
                node: nil, message: "the file exceeds the limit of 100000 bytes")
        ) {
            try GraphFile.load(contentsOf: "/dev/zero", limits: GraphFileLimits(maxBytes: 100_000))
        }
        let directory = FileManager.default.temporaryDirectory.path
        #expect(throws: GraphFileError.unreadableFile(path: directory, message: "Is a directory")) {
            try GraphFile.load(contentsOf: directory)
        }
    }
}
