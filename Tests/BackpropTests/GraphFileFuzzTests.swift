import BackpropWorkloads
import Foundation
import Testing

@testable import Backprop

/// Mutation fuzzing of the graph-file loader: valid files, mutated byte by
/// byte and field by field, must load or throw a `GraphFileError`; never trap.
///
/// The default run is a few thousand cases (seconds in a debug build). For a
/// longer run: `BACKPROP_FUZZ_CASES=200000 swift test --filter GraphFileFuzz`
/// (and `BACKPROP_FUZZ_SEED=n` to start from another seed).
@Suite struct GraphFileFuzzTests {
    /// Valid files to start from: the design example, a file using every
    /// attribute, and random graphs written by the writer.
    static func seedFiles() throws -> [String] {
        var files = [designExample, attributeExample, simplifiableExample]
        for seed in 1...3 as ClosedRange<UInt64> {
            var generator = RandomGraph(seed: seed)
            files.append(try GraphFile.write(try generator.tensor(Double.self, steps: 10)))
        }
        var generator = RandomGraph(seed: 9)
        files.append(try GraphFile.write(try generator.tensor(Float.self, steps: 8)))
        files.append(try GraphFile.write(try generator.scalar(Double.self, nodes: 20, inputs: 3)))
        return files
    }

    static let attributeExample = """
        {"format": "backprop-graph", "version": 1, "dtype": "float64",
         "nodes": [
          {"name": "x", "op": "input", "shape": [2, 3], "value": [[1, -2, 3], [0.5, 0.25, -1]]},
          {"name": "W", "op": "parameter", "shape": [3, 2], "value": [[1, 2], [3, 4], [5, 6]]},
          {"name": "c", "op": "constant", "shape": [2], "value": [1, 0]},
          {"name": "f", "op": "input", "shape": [1, 3]},
          {"name": "m", "op": "matmul", "inputs": ["x", "W"]},
          {"name": "t", "op": "transpose", "inputs": ["m"], "attributes": {"permutation": [1, 0]}},
          {"name": "r", "op": "reshape", "inputs": ["t"], "attributes": {"shape": [-1]}},
          {"name": "b", "op": "broadcast", "inputs": ["c"], "attributes": {"shape": [2, 2]}},
          {"name": "sl", "op": "slice", "inputs": ["x"], "attributes": {"axis": 1, "start": 0, "end": 2}},
          {"name": "cc", "op": "concat", "inputs": ["sl", "b"], "attributes": {"axis": 0}},
          {"name": "sm", "op": "softmax", "inputs": ["cc"], "attributes": {"axis": -1}},
          {"name": "ls", "op": "log_softmax", "inputs": ["m"], "attributes": {"axis": 0}},
          {"name": "ce", "op": "cross_entropy", "inputs": ["m", "c"]},
          {"name": "sce", "op": "sigmoid_cross_entropy", "inputs": ["sm", "cc"]},
          {"name": "p", "op": "pow", "inputs": ["r"], "attributes": {"exponent": 3}},
          {"name": "mx", "op": "max", "inputs": ["ls"], "attributes": {"axes": [1], "keep_dims": true}},
          {"name": "s1", "op": "sum", "inputs": ["p"]},
          {"name": "s2", "op": "mean", "inputs": ["sce"], "attributes": {"axes": [0, 1]}},
          {"name": "s3", "op": "sum", "inputs": ["mx"]},
          {"name": "s4", "op": "sum", "inputs": ["ce"], "attributes": {"axes": []}},
          {"name": "a", "op": "add", "inputs": ["s1", "s2"]},
          {"name": "a2", "op": "sub", "inputs": ["a", "s3"]},
          {"name": "y", "op": "mul", "inputs": ["a2", "s1"]}
         ],
         "output": "y"}
        """

    /// Every pattern the simplifier rewrites (loaded with `simplify: true`
    /// in a third of the cases).
    static let simplifiableExample = """
        {"format": "backprop-graph", "version": 1, "dtype": "float32",
         "nodes": [
          {"name": "u", "op": "input", "shape": [3], "value": [-800, 0, 40]},
          {"name": "one", "op": "constant", "shape": [], "value": 1},
          {"name": "e", "op": "exp", "inputs": ["u"]},
          {"name": "le", "op": "log", "inputs": ["e"]},
          {"name": "n1", "op": "neg", "inputs": ["le"]},
          {"name": "n2", "op": "neg", "inputs": ["n1"]},
          {"name": "sm", "op": "softmax", "inputs": ["n2"]},
          {"name": "lsm", "op": "log", "inputs": ["sm"]},
          {"name": "sg", "op": "sigmoid", "inputs": ["u"]},
          {"name": "lsg", "op": "log", "inputs": ["sg"]},
          {"name": "ope", "op": "add", "inputs": ["one", "e"]},
          {"name": "sp", "op": "log", "inputs": ["ope"]},
          {"name": "a", "op": "add", "inputs": ["lsm", "lsg"]},
          {"name": "b", "op": "add", "inputs": ["a", "sp"]},
          {"name": "y", "op": "sum", "inputs": ["b"]}
         ],
         "output": "y"}
        """

    @Test func seedFilesLoad() throws {
        for file in try Self.seedFiles() {
            try check(try GraphFile.load(json: file), source: file)
            try check(try GraphFile.load(json: file, simplify: true), source: file)
        }
        let simplified = try GraphFile.load(json: Self.simplifiableExample, simplify: true)
        guard case .float32(let g) = simplified else { return }
        #expect(Set(g.rewrites.map(\.rule)) == Set(RewriteRule.allCases))
    }

    @Test func mutatedFilesLoadOrThrow() throws {
        let environment = ProcessInfo.processInfo.environment
        let cases = environment["BACKPROP_FUZZ_CASES"].flatMap { Int($0) } ?? 3000
        let seed = environment["BACKPROP_FUZZ_SEED"].flatMap { UInt64($0) } ?? 2024
        let seeds = try Self.seedFiles()
        let trees = seeds.map { try! JSONParser.parse(Array($0.utf8)) }
        var mutator = Mutator(rng: WorkloadGenerator(seed: seed))
        var loaded = 0
        var errors: [String: Int] = [:]
        for k in 0..<cases {
            let pick = mutator.rng.int(seeds.count)
            var bytes: [UInt8]
            switch mutator.rng.int(10) {
            case 0..<4: bytes = mutator.mutateBytes(Array(seeds[pick].utf8))
            case 4..<9: bytes = Array(serialize(mutator.mutateTree(trees[pick])).utf8)
            default:
                bytes = mutator.mutateBytes(Array(serialize(mutator.mutateTree(trees[pick])).utf8))
            }
            let graph: AnyGraph
            do {
                graph = try GraphFile.load(bytes: bytes, simplify: k % 3 == 0)
            } catch {
                errors[caseName(error), default: 0] += 1
                #expect(!error.description.isEmpty && !error.description.contains("\n"))
                continue
            }
            loaded += 1
            try check(graph, source: "case \(k): " + String(decoding: bytes, as: UTF8.self))
        }
        // The mutations reach past the parser: some files load, and errors
        // of many kinds occur (not only syntax errors).
        if environment["BACKPROP_FUZZ_CASES"] != nil {
            print("fuzz: \(loaded) of \(cases) loaded; errors:", errors.sorted { $0.key < $1.key })
        }
        #expect(loaded > cases / 50, "loaded \(loaded) of \(cases)")
        #expect(errors.count >= 12, "\(errors.sorted { $0.key < $1.key })")
    }

    @Test func deepNestingIsRefusedWithoutRecursion() throws {
        for opener in ["[", "{\"a\":"] {
            let text = String(repeating: opener, count: 200_000)
            #expect(throws: GraphFileError.self) { try GraphFile.load(json: text) }
        }
        let deepValue = GraphFileTests.file(
            #"{"name": "y", "op": "input", "shape": [], "value": "#
                + String(repeating: "[", count: 100) + "1" + String(repeating: "]", count: 100)
                + "}")
        #expect(throws: GraphFileError.self) { try GraphFile.load(json: deepValue) }
    }

    /// A loaded graph writes back to a file that loads to the same graph,
    /// and, when small, evaluates without trapping.
    func check(_ graph: AnyGraph, source: String) throws {
        switch graph {
        case .float32(let g): try check(g, source: source)
        case .float64(let g): try check(g, source: source)
        }
    }

    func check<T: TensorElement>(_ graph: Graph<T>, source: String) throws {
        try expectRoundTrip(graph, source)
        let elements = (0..<graph.count).reduce(0) { $0 + graph.shape(of: $1).count }
        if elements <= 4096 {
            // Missing input values and invalid labels are errors, not traps.
            _ = try? ReferenceExecutor().gradients(graph)
        }
    }
}

/// Seeded mutations of bytes and of parsed JSON trees.
struct Mutator {
    var rng: WorkloadGenerator

    static let bytes =
        Array(#"{}[]",:-+0123456789.eE \u"#.utf8) + [0x00, 0x0A, 0x7F, 0x80, 0xC3, 0xFF]
    static let numbers = [
        "1e30", "-1", "2.5", "1e400", "-1e400", "0", "-0", "99999999999999999999", "1e-400",
        "65536", "4294967296", "-9223372036854775808", "9223372036854775807", "3", "1", "2", "-2",
        "0.5", "1.0", "4", "1e39", "268435456",
    ]
    static let strings =
        OpKind.allCases.map(\.rawValue) + [
            "powr", "", "x", "y", "W", "s", "p", "m", "c", "float32", "float64", "float16",
            "backprop-graph", "a\u{0}b", "é",
        ]
    static let keys = [
        "name", "op", "inputs", "attributes", "shape", "value", "axis", "axes", "keep_dims",
        "exponent", "permutation", "start", "end", "format", "version", "dtype", "nodes", "output",
        "extra",
    ]

    mutating func pick<T>(_ items: [T]) -> T { items[rng.int(items.count)] }

    mutating func mutateBytes(_ input: [UInt8]) -> [UInt8] {
        var b = input
        for _ in 0..<(rng.int(4) == 0 ? 2 + rng.int(4) : 1) {
            let at = rng.int(b.count + 1)
            switch rng.int(6) {
            case 0 where at < b.count: b[at] ^= UInt8(1) << UInt8(rng.int(8))
            case 1: b.insert(pick(Self.bytes), at: at)
            case 2 where at < b.count: b.removeSubrange(at..<min(b.count, at + 1 + rng.int(8)))
            case 3: b.removeSubrange(at...)
            case 4 where at < b.count:
                let slice = b[at..<min(b.count, at + 1 + rng.int(32))]
                b.insert(contentsOf: slice, at: rng.int(b.count + 1))
            case 5 where at < b.count: b[at] = pick(Self.bytes)
            default: break
            }
        }
        return b
    }

    mutating func mutateTree(_ value: JSONValue) -> JSONValue {
        var v = value
        for _ in 0..<(rng.int(4) == 0 ? 2 + rng.int(3) : 1) { v = mutate(v) }
        return v
    }

    /// Mutates one randomly chosen place in the tree, most often inside
    /// the nodes.
    private mutating func mutate(_ value: JSONValue) -> JSONValue {
        let descend = rng.int(8) != 0
        switch value {
        case .array(var items) where descend && !items.isEmpty:
            let i = rng.int(items.count)
            items[i] = mutate(items[i])
            return .array(items)
        case .object(var o) where descend && !o.members.isEmpty:
            let nodes = o.members.firstIndex { $0.key == "nodes" }
            let i = nodes.flatMap { rng.int(8) != 0 ? $0 : nil } ?? rng.int(o.members.count)
            o.members[i].value = mutate(o.members[i].value)
            return .object(o)
        default:
            return mutateHere(value)
        }
    }

    private mutating func mutateHere(_ value: JSONValue) -> JSONValue {
        switch (value, rng.int(4)) {
        case (.number, 0..<3): return .number(pick(Self.numbers))
        case (.string, 0..<3): return .string(pick(Self.strings))
        case (.array(var items), 0..<3) where !items.isEmpty:
            let i = rng.int(items.count)
            switch rng.int(4) {
            case 0: items.insert(items[i], at: rng.int(items.count + 1))  // a duplicate node
            case 1: items.remove(at: i)
            case 2: items.swapAt(i, rng.int(items.count))
            default: items.append(randomLeaf())
            }
            return .array(items)
        case (.object(var o), 0..<3):
            switch rng.int(3) {
            case 0 where !o.members.isEmpty: o.members.remove(at: rng.int(o.members.count))
            case 1 where !o.members.isEmpty:
                o.members.append(o.members[rng.int(o.members.count)])  // a duplicate key
            default: o.members.append((pick(Self.keys), randomLeaf()))
            }
            return .object(o)
        default:
            switch rng.int(3) {
            case 0:  // deepen: wrap in arrays, sometimes past the nesting limit
                var v = value
                for _ in 0..<(rng.int(2) == 0 ? 1 + rng.int(4) : 60 + rng.int(10)) {
                    v = .array([v])
                }
                return v
            default: return randomLeaf()
            }
        }
    }

    private mutating func randomLeaf() -> JSONValue {
        switch rng.int(7) {
        case 0: .null
        case 1: .bool(rng.int(2) == 0)
        case 2: .number(pick(Self.numbers))
        case 3: .string(pick(Self.strings))
        case 4: .array([.number(pick(Self.numbers)), .number(pick(Self.numbers))])
        case 5: .object(JSONObject(members: [(pick(Self.keys), .number(pick(Self.numbers)))]))
        default: .array([])
        }
    }
}

/// A JSON tree as text (duplicate keys are written as they are).
func serialize(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool(let b): b ? "true" : "false"
    case .number(let literal): literal
    case .string(let s): GraphFile.json(s)
    case .array(let items): "[" + items.map(serialize).joined(separator: ", ") + "]"
    case .object(let o):
        "{"
            + o.members.map { GraphFile.json($0.key) + ": " + serialize($0.value) }.joined(
                separator: ", ") + "}"
    }
}
