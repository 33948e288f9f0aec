import Backprop
import Foundation
import Testing

/// `backprop run`, as a process, on the graph files of `docs/examples`:
/// golden text and JSON, agreement with the reference executor, bitwise
/// identical results at every thread count, standard input, traces, and
/// bad arguments.
@Suite struct RunCommandTests {
    /// The path of `docs/examples/name`.
    static func example(_ name: String) -> String {
        CLI.repositoryPath("docs/examples/" + name)
    }

    static let examples = [
        "lecture.json", "lecture-x42.json", "lecture-log-exp-x42.json", "logistic.json",
        "mlp-float32.json",
    ]

    @Test func lectureExampleText() throws {
        let r = try CLI.run("run", Self.example("lecture.json"))
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "output: 12.0\ngradient x: 16.0\ngradient y: 16.0\n")
        #expect(r.stderr == "")
    }

    @Test func lectureExampleJSON() throws {
        let r = try CLI.run("run", Self.example("lecture.json"), "--json")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == #"{"output": 12.0, "gradients": {"x": 16.0, "y": 16.0}}"# + "\n")
        #expect(r.stderr == "")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(object?["output"] as? Double == 12)
    }

    /// x³ at x = 42, and the same answer as `backprop grad 'x^3' --at x=42`.
    @Test func cubeAt42() throws {
        let text = try CLI.run("run", Self.example("lecture-x42.json"))
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout == "output: 74088.0\ngradient x: 5292.0\n")
        let json = try CLI.run("run", Self.example("lecture-x42.json"), "--json")
        #expect(json.stdout == #"{"output": 74088.0, "gradients": {"x": 5292.0}}"# + "\n")
        let grad = try CLI.run("grad", "x^3", "--at", "x=42")
        #expect(grad.stdout == text.stdout)
    }

    /// A file is run exactly as written: `log(exp(2x³ + 10))` is not
    /// simplified, so exp overflows and the chain rule meets 0·∞ (`grad`,
    /// which simplifies, gives 148186 and 10584).
    @Test func logOfExpAt42IsNotSimplified() throws {
        let text = try CLI.run("run", Self.example("lecture-log-exp-x42.json"))
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout == "output: inf\ngradient x: nan\n")
        let json = try CLI.run("run", Self.example("lecture-log-exp-x42.json"), "--json")
        #expect(json.stdout == #"{"output": "inf", "gradients": {"x": "nan"}}"# + "\n")
    }

    /// The JSON parses, names every input and parameter (not the
    /// constants), in file order in the text form, and agrees with the
    /// reference executor run in this process.
    @Test(arguments: ["logistic.json", "mlp-float32.json"])
    func tensorExamplesMatchTheReferenceExecutor(file: String) throws {
        let path = Self.example(file)
        let r = try CLI.run("run", path, "--json")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.split(separator: "\n").count == 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let gradients = try #require(object["gradients"] as? [String: Any])
        let text = try CLI.run("run", path)
        #expect(text.status == 0, "\(text)")
        let textNames = text.stdout.split(separator: "\n").dropFirst().map {
            String($0.dropFirst("gradient ".count).prefix { $0 != ":" })
        }

        switch try GraphFile.load(contentsOf: path) {
        case .float32(let graph):
            try compare(object["output"], gradients, textNames, graph, tolerance: 1e-5)
        case .float64(let graph):
            try compare(object["output"], gradients, textNames, graph, tolerance: 1e-12)
        }
    }

    func compare<T: TensorElement>(
        _ output: Any?, _ gradients: [String: Any], _ textNames: [String], _ graph: Graph<T>,
        tolerance: Double
    ) throws {
        let reference = try ReferenceExecutor().gradients(graph)
        let names = graph.inputs.map { graph.name(of: $0) }
        #expect(textNames == names)
        #expect(Set(gradients.keys) == Set(names))
        try expectClose(output, reference.output, tolerance: tolerance, "output")
        for name in names {
            try expectClose(
                gradients[name], try #require(reference.gradients[name]), tolerance: tolerance,
                "gradient of \(name)")
        }
    }

    /// `json`, parsed nested arrays, has `expected`'s shape and is within
    /// `tolerance · (1 + max |expected|)` of it everywhere.
    func expectClose<T: TensorElement>(
        _ json: Any?, _ expected: Tensor<T>, tolerance: Double, _ what: String
    ) throws {
        var shape: [Int] = []
        var level = try #require(json, "\(what)")
        while let array = level as? [Any] {
            shape.append(array.count)
            level = try #require(array.first, "\(what)")
        }
        #expect(shape == expected.shape.dimensions, "\(what)")
        let actual = try Self.flatten(try #require(json))
        let expectedValues = expected.scalars.map { Double($0) }
        #expect(actual.count == expectedValues.count, "\(what)")
        let scale = 1 + expectedValues.reduce(0) { Swift.max($0, Swift.abs($1)) }
        for (a, e) in zip(actual, expectedValues) {
            #expect(Swift.abs(a - e) <= tolerance * scale, "\(what): \(a), reference \(e)")
        }
    }

    /// The numbers of a parsed JSON value (a number, `"inf"`, `"-inf"`,
    /// `"nan"`, or nested arrays of them), row-major.
    static func flatten(_ value: Any) throws -> [Double] {
        if let array = value as? [Any] { return try array.flatMap(flatten) }
        if let number = value as? NSNumber { return [number.doubleValue] }
        let string = try #require(value as? String)
        return [try #require(["inf": .infinity, "-inf": -.infinity, "nan": .nan][string])]
    }

    /// The determinism contract through the command line: the same text at
    /// 1, 2 and 3 threads, with the default plan and one chunked as finely
    /// as it goes.
    @Test(arguments: examples)
    func resultsAreBitwiseIdenticalAtEveryThreadCount(file: String) throws {
        let fine = ["--grain", "1", "--inline-threshold", "0", "--max-chunks", "64"]
        for plan in [[], fine] {
            for format in [[], ["--json"]] {
                let one = try CLI.run(
                    ["run", Self.example(file), "--threads", "1"] + plan + format)
                #expect(one.status == 0, "\(one)")
                for threads in ["2", "3"] {
                    let many = try CLI.run(
                        ["run", Self.example(file), "--threads", threads] + plan + format)
                    #expect(many.stdout == one.stdout, "\(file) \(plan) at \(threads) threads")
                }
            }
        }
    }

    @Test func dashReadsStandardInput() throws {
        for file in ["lecture.json", "mlp-float32.json"] {
            let text = try String(contentsOfFile: Self.example(file), encoding: .utf8)
            let piped = try CLI.run("run", "-", "--json", stdin: text)
            let named = try CLI.run("run", Self.example(file), "--json")
            #expect(piped.status == 0, "\(piped)")
            #expect(piped.stdout == named.stdout)
        }
        // Errors name the file '-'.
        let bad = try CLI.run("run", "-", stdin: "{\n")
        bad.expectError()
        #expect(
            bad.stderr
                == "error: -:2:1: invalid JSON: expected a string key, found the end of the input\n"
        )
        let empty = try CLI.run("run", "-", stdin: "")
        empty.expectError()
        #expect(
            empty.stderr
                == "error: -:1:1: invalid JSON: expected a value, found the end of the input\n")
    }

    /// An input without a value has no default, and `run` cannot feed one:
    /// an error when the output depends on it, a zero gradient otherwise.
    @Test func inputWithoutValue() throws {
        func file(output: String) -> String {
            """
            {"format": "backprop-graph", "version": 1, "dtype": "float64", "nodes": [
              {"name": "x", "op": "input", "shape": []},
              {"name": "w", "op": "parameter", "shape": [2], "value": [1, 2]},
              {"name": "y", "op": "exp", "inputs": ["x"]},
              {"name": "s", "op": "sum", "inputs": ["w"]}],
             "output": "\(output)"}
            """
        }
        let used = try CLI.run("run", "-", stdin: file(output: "y"))
        used.expectError()
        #expect(
            used.stderr
                == #"error: -: input node 'x' has no value (run needs a "value" for every input the output depends on)"#
                + "\n")
        let unused = try CLI.run("run", "-", stdin: file(output: "s"))
        #expect(unused.status == 0, "\(unused)")
        #expect(unused.stdout == "output: 3.0\ngradient x: 0.0\ngradient w: [1.0, 1.0]\n")
    }

    /// `--trace FILE` writes Chrome trace JSON and prints the report as
    /// usual: one slice per task for a tensor graph, no events for a scalar
    /// graph (which runs as a tape, with no tasks).
    @Test func traceIsWritten() throws {
        try CLI.withTemporaryDirectory { directory in
            let trace = directory.appendingPathComponent("trace.json").path
            let r = try CLI.run(
                "run", Self.example("logistic.json"), "--threads", "2", "--trace", trace)
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout == (try CLI.run("run", Self.example("logistic.json")).stdout))
            let object = try #require(
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: trace)))
                    as? [String: Any])
            let events = try #require(object["traceEvents"] as? [[String: Any]])
            let slices = events.filter { $0["ph"] as? String == "X" }
            #expect(!slices.isEmpty)
            #expect(Set(slices.compactMap { $0["cat"] as? String }) == ["forward", "backward"])
            for slice in slices {
                #expect(slice["ts"] is NSNumber && slice["dur"] is NSNumber)
            }

            let scalar = try CLI.run("run", Self.example("lecture.json"), "--trace", trace)
            #expect(scalar.status == 0, "\(scalar)")
            #expect(scalar.stdout == "output: 12.0\ngradient x: 16.0\ngradient y: 16.0\n")
            let empty = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: trace)))
            #expect((empty as? [String: Any])?["traceEvents"] as? [Any] != nil)
            #expect(((empty as? [String: Any])?["traceEvents"] as? [Any])?.isEmpty == true)
        }
    }

    /// Bad arguments: status 2 and one `error:` line.
    @Test(arguments: [
        (["--threads", "0"], "error: --threads must be from 1 to 1024, got 0"),
        (
            ["--threads", "two"],
            "error: the value 'two' is invalid for '--threads <threads>' (see 'backprop run --help')"
        ),
        (["--grain", "0"], "error: --grain must be at least 1, got 0"),
        (
            ["--inline-threshold=-1"],
            "error: --inline-threshold must not be negative, got -1"
        ),
        (
            ["--max-chunks", "0"],
            "error: --max-chunks must be at least 1, got 0"
        ),
        (
            ["--jsn"],
            "error: unknown option '--jsn'. Did you mean '--json'? (see 'backprop run --help')"
        ),
        (
            ["--trace", "/nonexistent/directory/trace.json"],
            "error: cannot write the trace to '/nonexistent/directory/trace.json'"
        ),
    ])
    func badOptions(options: [String], line: String) throws {
        let r = try CLI.run(["run", Self.example("lecture.json")] + options)
        r.expectError()
        #expect(r.stderr == line + "\n")
    }

    @Test func badFileArguments() throws {
        let missing = try CLI.run("run", "/nonexistent/graph.json")
        missing.expectError()
        #expect(
            missing.stderr
                == "error: cannot read '/nonexistent/graph.json': No such file or directory\n")

        let directory = CLI.repositoryPath("docs/examples")
        let isDirectory = try CLI.run("run", directory)
        isDirectory.expectError()
        #expect(isDirectory.stderr == "error: cannot read '\(directory)': Is a directory\n")

        let none = try CLI.run("run")
        none.expectError()
        #expect(
            none.stderr == "error: missing expected argument '<file>' (see 'backprop run --help')\n"
        )

        let two = try CLI.run("run", Self.example("lecture.json"), Self.example("logistic.json"))
        two.expectError()
    }
}
