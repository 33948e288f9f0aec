import Backprop
import Foundation
import Testing

/// The malformed graph files of `Tests/BackpropCLITests/Corpus`, run
/// through the real executable: each must fail with status 2, print
/// nothing on standard output, and exactly one `error:` line that names
/// the file and says what is wrong. Together they cover every kind of
/// ``GraphFileError`` that reading a file can produce.
@Suite struct GraphFileCorpusTests {
    static let directory = CLI.repositoryPath("Tests/BackpropCLITests/Corpus")

    /// Each file, the kind of error it holds, and text its error line must
    /// contain (after the file's path).
    static let corpus: [(file: String, kind: String, expected: String)] = [
        (
            "invalid-json.json", "invalidJSON",
            ":4:5: invalid JSON: expected ',' or ']' in an array, found '{'"
        ),
        (
            "unknown-format.json", "unknownFormat",
            #": not a backprop graph file: expected "format": "backprop-graph", found 'onnx'"#
        ),
        (
            "unsupported-version.json", "unsupportedVersion",
            ": unsupported graph file version 2 (this reader reads version 1)"
        ),
        (
            "unknown-dtype.json", "unknownDType",
            ": unknown dtype 'float16' (expected float32 or float64)"
        ),
        ("output-missing.json", "missingField", ": missing field 'output'"),
        ("missing-field.json", "missingField", ": node 'x': missing field 'shape'"),
        (
            "wrong-field-type.json", "invalidField",
            ": node 'x': field 'shape': expected an array of extents, found a string"
        ),
        ("unexpected-field.json", "unexpectedField", ": node 'x': unexpected field 'valeu'"),
        ("unknown-op.json", "unknownOp", ": node 'y': unknown op 'powr'"),
        (
            "invalid-attribute.json", "invalidAttribute",
            ": node 'y': attribute 'exponnet': unknown for pow, which takes 'exponent'"
        ),
        (
            "value-shape-mismatch.json", "valueShapeMismatch",
            ": node 'W': value does not match shape: value[1] has 1 entries, shape [2, 2] needs 2"
        ),
        (
            "non-finite-literal.json", "nonFiniteNumber",
            ": node 'v': value 1e400 is not a finite number (graph files hold finite numbers only)"
        ),
        (
            "too-large.json", "tooLarge",
            ": node 'big': too large: 4294967296 elements, the limit is 268435456 per node"
        ),
        (
            "output-non-scalar.json", "nonScalarOutput",
            ": output node 'y' has shape [2]; a graph file's output must hold exactly one element"
        ),
        (
            "unknown-node-name.json", "graph.unknownName",
            ": unknown node name 'z' referenced by 'y'"
        ),
        (
            "output-unknown.json", "graph.unknownName",
            ": unknown node name 'z' referenced by 'output'"
        ),
        ("duplicate-name.json", "graph.duplicateName", ": duplicate node name 'x'"),
        ("missing-inputs.json", "graph.wrongInputCount", ": node 'y': add takes 2 inputs, got 1"),
        ("extra-inputs.json", "graph.wrongInputCount", ": node 'y': exp takes 1 input, got 2"),
        ("cycle.json", "graph.cycle", ": cycle: 'a' -> 'b' -> 'c' -> 'a'"),
        (
            "shape-mismatch.json", "graph.shapeMismatch",
            ": shape mismatch at node 's': shapes [2] and [3] cannot be broadcast together"
        ),
        (
            "axis-out-of-range.json", "graph.invalidAttribute",
            ": invalid attribute at node 's': axis 1 is out of range for shape [3]"
        ),
    ]

    /// The kind of an error, as the table names it. The switch has no
    /// default, so a new kind of error does not compile until it is
    /// named here (and, if files can produce it, given a corpus file).
    static func kind(_ error: GraphFileError) -> String {
        switch error {
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
        case .graph(let g):
            switch g {
            case .shapeMismatch: "graph.shapeMismatch"
            case .typeMismatch: "graph.typeMismatch"
            case .invalidAttribute: "graph.invalidAttribute"
            case .wrongInputCount: "graph.wrongInputCount"
            case .unknownName: "graph.unknownName"
            case .duplicateName: "graph.duplicateName"
            case .danglingReference: "graph.danglingReference"
            case .cycle: "graph.cycle"
            case .nonScalarOutput: "graph.nonScalarOutput"
            case .missingValue: "graph.missingValue"
            case .notAnInput: "graph.notAnInput"
            }
        }
    }

    /// Every kind a file can produce. Not here: `unreadableFile` (a missing
    /// file or a directory: ``unreadableFiles()``), `customOp` (only
    /// writing produces it), and the graph errors a loaded file cannot
    /// have (a file's nodes are typed by its dtype, every reference is
    /// resolved by name, the output's shape is checked as
    /// `nonScalarOutput`, and no input is fed).
    static let kindsFromFiles: Set<String> = [
        "invalidJSON", "unknownFormat", "unsupportedVersion", "unknownDType", "missingField",
        "invalidField", "unexpectedField", "unknownOp", "invalidAttribute", "valueShapeMismatch",
        "nonFiniteNumber", "tooLarge", "nonScalarOutput", "graph.unknownName",
        "graph.duplicateName", "graph.wrongInputCount", "graph.cycle", "graph.shapeMismatch",
        "graph.invalidAttribute",
    ]

    @Test func everyFileIsInTheTableAndEveryKindInTheCorpus() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory)
        #expect(Set(files) == Set(Self.corpus.map(\.file)))
        #expect(files.count == Self.corpus.count)
        #expect(Set(Self.corpus.map(\.kind)) == Self.kindsFromFiles)
    }

    /// The error the library throws for each file is of the table's kind,
    /// and the command prints exactly it.
    @Test(arguments: corpus)
    func malformedFileFails(file: String, kind: String, expected: String) throws {
        let path = Self.directory + "/" + file
        let error = try #require(throws: GraphFileError.self) {
            try GraphFile.load(contentsOf: path)
        }
        #expect(Self.kind(error) == kind)

        for arguments in [
            ["run", path], ["run", path, "--json"], ["run", path, "--threads", "2"],
        ] {
            let r = try CLI.run(arguments)
            r.expectError()
            #expect(r.stderr.hasPrefix("error: \(path)"), "\(r)")
            #expect(r.stderr.contains(expected), "\(r)")
            #expect(r.stderr == "error: " + error.description(file: path) + "\n")
        }
    }

    @Test func unreadableFiles() throws {
        for (path, reason) in [
            ("/nonexistent/corpus.json", "No such file or directory"),
            (Self.directory, "Is a directory"),
        ] {
            let error = try #require(throws: GraphFileError.self) {
                try GraphFile.load(contentsOf: path)
            }
            #expect(Self.kind(error) == "unreadableFile")
            let r = try CLI.run("run", path)
            r.expectError()
            #expect(r.stderr == "error: cannot read '\(path)': \(reason)\n")
        }
    }
}
