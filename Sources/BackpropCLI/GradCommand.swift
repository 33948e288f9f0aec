import ArgumentParser
import Backprop

/// `backprop grad EXPR --at x=1,y=2 [--json]`: the value of a scalar
/// expression and its gradient with respect to every variable.
struct GradCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grad",
        abstract: "The value and gradient of a scalar expression at a point.",
        usage: "backprop grad <expression> [--at <name=number,...>] [--json]",
        discussion: """
            Operators + - * / ^ (^ binds tightest and groups to the right: -x^2 is -(x^2), \
            2^3^2 is 2^(3^2)), unary minus, parentheses, numbers such as 3, 2.5, .5, 1e-3, \
            and the functions exp log sqrt sin cos tanh sigmoid relu abs. Every variable needs \
            a value; gradients are printed in order of first appearance. x^c with a constant c \
            is the pow op; x^y with a variable exponent is exp(y*log(x)), defined for x > 0.

            The lecture's examples (the function 7 has no variable, so it takes no --at):
              backprop grad '(x+y)*x*y^2' --at x=1,y=2
                  output: 12.0, gradient x: 16.0, gradient y: 16.0
              backprop grad 7                                output: 7.0
              backprop grad '2*x' --at x=42                  gradient x: 2.0
              backprop grad '2*x+999999' --at x=42           gradient x: 2.0
              backprop grad 'x^3' --at x=42                  gradient x: 5292.0
              backprop grad 'exp(x)' --at x=42
                  gradient x: 1.739274941520501e+18
              backprop grad 'exp(2*x^3+10)' --at x=42        gradient x: inf
              backprop grad 'log(exp(2*x^3+10))' --at x=42   gradient x: 10584.0

            An expression may start with '-' (backprop grad -x^2 --at x=3); write a double \
            minus as -(-x), and -h (the help flag) as -(h).
            """)

    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp(
            "The expression, quoted for the shell: '(x+y)*x*y^2'.", valueName: "expression"))
    var expression: [String] = []

    @Option(
        help: ArgumentHelp(
            "Variable values, e.g. x=1,y=2 (repeatable).", valueName: "name=number,..."))
    var at: [String] = []

    @Flag(help: #"Print {"output": V, "gradients": {"x": G, ...}} on one line."#)
    var json = false

    mutating func validate() throws {
        // The expression takes the arguments argument-parser does not know,
        // so that it may start with "-"; an unknown option lands here too,
        // and so does the "--" that ends the options.
        if let end = expression.firstIndex(of: "--") { expression.remove(at: end) }
        if let option = expression.first(where: { $0.hasPrefix("--") && $0.count > 2 }) {
            throw ValidationError("unknown option '\(option)'")
        }
        if expression.isEmpty { throw ValidationError("missing expected argument '<expression>'") }
        if expression.count > 1 {
            throw ValidationError(
                "expected one expression, got \(expression.count) arguments; quote the expression"
            )
        }
    }

    func run() throws(CLIFailure) {
        let text = expression[0]
        let parsed: ScalarExpression
        do {
            parsed = try ScalarExpression.parse(text)
        } catch {
            throw .badInput(error.description)
        }
        let values = try Bindings.parse(at)
        let graph: Graph<Double>
        do {
            graph = try parsed.graph(at: values)
        } catch .missingValue(let variable) {
            throw .badInput(
                "no value for variable '\(variable)' (give one with --at \(variable)=NUMBER)")
        } catch .unknownVariable(let name) {
            let variables =
                parsed.variables.isEmpty
                ? "it has none" : "its variables: " + parsed.variables.joined(separator: ", ")
            throw .badInput("--at: '\(name)' is not a variable of the expression (\(variables))")
        } catch {
            throw .badInput(error.description)
        }
        let result: GradientResult<Double>
        do {
            result = try ReferenceExecutor().gradients(graph)
        } catch {
            throw .badInput("\(error)")
        }
        let report = GradientReport(
            output: result.output,
            gradients: parsed.variables.map { ($0, result.gradients[$0] ?? .zeros(.scalar)) })
        print(json ? report.json : report.text)
    }
}
