import ArgumentParser
import Backprop
import Foundation

/// `backprop run FILE [--threads N] [--json] [--trace FILE]`: loads a graph
/// file, runs forward and backward through the parallel runtime, and prints
/// the output and the gradient with respect to every input.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "Run a graph file forward and backward; print the output and every input's gradient.",
        discussion: """
            FILE is a graph file (docs/graph-format.md); '-' reads standard input. Gradients \
            are printed for every input and parameter, in file order (zeros for one the \
            output does not depend on). Every input the output depends on needs a value in \
            the file. The output must be a scalar. Results are bitwise identical for every \
            --threads (with the same plan options).

            Example:
              backprop run lecture.json --threads 2 --json
            """)

    @Argument(help: ArgumentHelp("The graph file ('-' for standard input).", valueName: "file"))
    var file: String

    @OptionGroup(title: "Runtime options")
    var runtimeOptions: RuntimeOptions

    @Flag(help: #"Print {"output": V, "gradients": {"x": G, ...}} on one line."#)
    var json = false

    @Option(
        help: ArgumentHelp(
            "Write a Chrome trace (chrome://tracing, Perfetto) of the run to this file.",
            valueName: "file"))
    var trace: String?

    /// The deliberate bug of `backprop stress --inject-fault`, so that a
    /// repro written under it replays.
    @Flag(help: .hidden)
    var injectFault = false

    func run() throws(CLIFailure) {
        let runtime = try runtimeOptions.runtime()
        let graph = try loadGraphFile(file)
        switch graph {
        case .float32(let g): print(try execute(g, on: runtime))
        case .float64(let g): print(try execute(g, on: runtime))
        }
    }

    /// Runs `graph` once and renders the result.
    private func execute<T: TensorElement>(_ graph: Graph<T>, on runtime: Runtime)
        throws(CLIFailure) -> String
    {
        let outputShape = graph.shape(of: graph.output)
        guard outputShape.count == 1 else {
            throw .badInput(
                GraphError.nonScalarOutput(node: graph.name(of: graph.output), shape: outputShape)
                    .description)
        }
        // An input without a value has no default (docs/graph-format.md),
        // and `run` has no way to feed one: an execution would read zeros.
        if let unfed = graph.inputs.first(where: {
            graph.value(of: $0) == nil && graph.outputDepends(on: $0)
        }) {
            throw .badInput(
                "\(file): input node '\(graph.name(of: unfed))' has no value"
                    + " (run needs a \"value\" for every input the output depends on)")
        }
        let execution: Execution<T>
        do {
            execution = try Execution(
                plan: Plan(graph, options: runtimeOptions.planOptions()), runtime: runtime)
            execution.isTracing = trace != nil
            execution.injectsFault = injectFault
            try execution.run(on: runtime)
        } catch {
            throw .badInput("\(error)")
        }
        if let trace {
            // An all-scalar graph runs as a tape on the calling thread (Note
            // [Scalar tape]): it has no tasks, and its trace no events.
            let text =
                execution.chromeTrace() ?? "{\"traceEvents\":[],\"displayTimeUnit\":\"ns\"}\n"
            guard FileManager.default.createFile(atPath: trace, contents: Data(text.utf8)) else {
                throw .badInput("cannot write the trace to '\(trace)'")
            }
        }
        let report = GradientReport(
            output: execution.output,
            gradients: graph.inputs.map { node in
                let name = graph.name(of: node)
                return (name, execution.gradient(of: name) ?? .zeros(graph.shape(of: node)))
            })
        return json ? report.json : report.text
    }
}
