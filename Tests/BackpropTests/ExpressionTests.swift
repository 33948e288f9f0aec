import BackpropWorkloads
import Foundation
import Testing

@testable import Backprop

/// The scalar expression parser: precedence, associativity, literals,
/// functions, errors with their columns, and the graphs it builds.
@Suite struct ExpressionTests {
    let executor = ReferenceExecutor()

    /// The fully parenthesised form of `text`.
    func tree(_ text: String) throws -> String { try ScalarExpression.parse(text).description }

    /// The output and gradients of `text` at `values`.
    func evaluate(_ text: String, _ values: [String: Double]) throws -> GradientResult<Double> {
        try executor.gradients(ScalarExpression.parse(text).graph(at: values))
    }

    // MARK: Syntax

    @Test(arguments: [
        ("1 + 2 * 3", "(1.0 + (2.0 * 3.0))"),
        ("1 * 2 + 3", "((1.0 * 2.0) + 3.0)"),
        ("a - b - c", "((a - b) - c)"),
        ("a / b / c", "((a / b) / c)"),
        ("a - b + c", "((a - b) + c)"),
        ("a / b * c", "((a / b) * c)"),
        ("a ^ b ^ c", "(a ^ (b ^ c))"),
        ("-x^2", "(-(x ^ 2.0))"),
        ("-x * y", "((-x) * y)"),
        ("--x", "(-(-x))"),
        ("x^-2", "(x ^ (-2.0))"),
        ("x^-y^2", "(x ^ (-(y ^ 2.0)))"),
        ("2*x^3+10", "((2.0 * (x ^ 3.0)) + 10.0)"),
        ("(x + y) * x * y^2", "(((x + y) * x) * (y ^ 2.0))"),
        ("((x))", "x"),
        ("exp(x)^2", "(exp(x) ^ 2.0)"),
        ("-exp(-x)", "(-exp((-x)))"),
        ("a*-b", "(a * (-b))"),
        ("\tx  +\ty ", "(x + y)"),
    ])
    func precedenceAndAssociativity(text: String, expected: String) throws {
        #expect(try tree(text) == expected)
    }

    @Test func everyFunctionParses() throws {
        for f in ScalarExpression.Function.allCases {
            let e = try ScalarExpression.parse("\(f.rawValue)(x + 1)")
            #expect(e.subexpressions.last == .function(f, e.root - 1))
            #expect(e.description == "\(f.rawValue)((x + 1.0))")
        }
    }

    @Test(arguments: [
        ("3", 3.0), ("2.5", 2.5), (".5", 0.5), ("1.", 1.0), ("1e-3", 1e-3), ("2.5E+4", 2.5e4),
        ("1E3", 1000.0), ("007", 7.0), ("0.1", 0.1),
        ("1.7976931348623157e308", .greatestFiniteMagnitude),
    ])
    func numericLiterals(text: String, value: Double) throws {
        #expect(try ScalarExpression.parse(text).subexpressions == [.number(value)])
    }

    @Test func variablesInOrderOfFirstAppearance() throws {
        let e = try ScalarExpression.parse("y * x_1 + y / _z + x_1 + X")
        #expect(e.variables == ["y", "x_1", "_z", "X"])
        // Occurrences stay separate nodes of the tree; the graph has one input each.
        #expect(e.subexpressions.filter { $0 == .variable("y") }.count == 2)
        let g = try e.graph(at: ["y": 1, "x_1": 2, "_z": 3, "X": 4])
        #expect(g.inputs.map { g.name(of: $0) } == ["y", "x_1", "_z", "X"])
    }

    @Test func descriptionReadsBackToTheSameTree() throws {
        for text in [
            "(x+y)*x*y^2", "-x^-2.5e-7", "log(exp(2*x^3+10))", "sigmoid(a)/relu(-b)^c^d",
            "1e300*x - .25",
        ] {
            let e = try ScalarExpression.parse(text)
            #expect(try ScalarExpression.parse(e.description) == e, "\(text)")
        }
    }

    // MARK: Errors

    @Test(arguments: [
        ("", ExpressionError.expected("an expression", found: "end of input", column: 1)),
        ("   ", .expected("an expression", found: "end of input", column: 4)),
        ("exp(x+1", .expected("')'", found: "end of input", column: 8)),
        ("(x y)", .expected("')'", found: "'y'", column: 4)),
        ("x +", .expected("an operand", found: "end of input", column: 4)),
        ("x * / y", .expected("an operand", found: "'/'", column: 5)),
        ("()", .expected("an operand", found: "')'", column: 2)),
        ("exp()", .expected("an operand", found: "')'", column: 5)),
        ("+x", .expected("an operand", found: "'+'", column: 1)),
        ("2x", .expected("an operator", found: "'x'", column: 2)),
        ("x y", .expected("an operator", found: "'y'", column: 3)),
        ("1.2.3", .expected("an operator", found: "'.3'", column: 4)),
        ("2 (y)", .expected("an operator", found: "'('", column: 3)),
        ("sin", .expected("'(' after 'sin'", found: "end of input", column: 4)),
        ("abs + 1", .expected("'(' after 'abs'", found: "'+'", column: 5)),
        ("x)", .unmatchedParenthesis(column: 2)),
        (")", .unmatchedParenthesis(column: 1)),
        ("(x))", .unmatchedParenthesis(column: 4)),
        ("x $", .unexpectedCharacter("$", column: 3)),
        ("x, y", .unexpectedCharacter(",", column: 2)),
        ("2π", .unexpectedCharacter("π", column: 2)),
        ("é + x", .unexpectedCharacter("é", column: 1)),
        ("x²", .unexpectedCharacter("²", column: 2)),
        ("1e", .invalidNumber("1e", column: 1)),
        ("x + 2E-", .invalidNumber("2E-", column: 5)),
        ("x + .", .invalidNumber(".", column: 5)),
        ("1e999", .invalidNumber("1e999", column: 1)),
        ("pow(x)", .unknownFunction("pow", column: 1)),
        ("x * f(2)", .unknownFunction("f", column: 5)),
        ("x (y)", .unknownFunction("x", column: 1)),
    ])
    func errorsWithTheirColumns(text: String, error: ExpressionError) {
        #expect(throws: error) { try ScalarExpression.parse(text) }
        #expect(error.column != nil)
        #expect(error.description == "column \(error.column!): \(error.message)")
        #expect(!error.description.contains("\n"))
    }

    @Test func columnsCountCharacters() {
        // One column per character, whatever its UTF-8 length.
        #expect(throws: ExpressionError.unexpectedCharacter("∂", column: 5)) {
            try ScalarExpression.parse("x + ∂x")
        }
    }

    @Test func nestingIsLimited() throws {
        let limit = ExpressionParser.nestingLimit
        #expect(
            try evaluate(
                String(repeating: "(", count: limit) + "x" + String(repeating: ")", count: limit),
                ["x": 2]
            ).output.scalar == 2)
        #expect(throws: ExpressionError.nestingTooDeep(limit: limit, column: limit + 1)) {
            try ScalarExpression.parse(String(repeating: "(", count: limit + 1) + "x")
        }
        #expect(
            try evaluate(String(repeating: "-", count: limit) + "x", ["x": 2]).output.scalar == 2)
        #expect(throws: ExpressionError.nestingTooDeep(limit: limit, column: limit + 1)) {
            try ScalarExpression.parse(String(repeating: "-", count: limit + 1) + "x")
        }
        #expect(throws: ExpressionError.nestingTooDeep(limit: limit, column: 2 * limit + 2)) {
            try ScalarExpression.parse(
                Array(repeating: "x", count: limit + 2).joined(separator: "^"))
        }
        #expect(throws: ExpressionError.nestingTooDeep(limit: limit, column: 4 * limit + 4)) {
            try ScalarExpression.parse(String(repeating: "exp(", count: limit + 1) + "x")
        }
    }

    @Test func longFlatExpressionsDoNotRecurse() throws {
        let n = 50_000
        let text = Array(repeating: "x", count: n).joined(separator: " + ")
        let e = try ScalarExpression.parse(text)
        #expect(e.subexpressions.count == 2 * n - 1)
        #expect(e.description.count == text.count + 2 * (n - 1))
        let r = try executor.gradients(e.graph(at: ["x": 0.5]))
        #expect(r.output.scalar == 0.5 * Double(n))
        #expect(r.gradients["x"]?.scalar == Double(n))
    }

    @Test func bindingErrors() throws {
        let e = try ScalarExpression.parse("x * y + z")
        #expect(throws: ExpressionError.missingValue(variable: "y")) {
            try e.graph(at: ["x": 1, "z": 1])
        }
        #expect(throws: ExpressionError.unknownVariable("a")) {
            try e.graph(at: ["x": 1, "y": 2, "z": 3, "w": 4, "a": 5])
        }
        // A missing value is reported before an unknown one.
        #expect(throws: ExpressionError.missingValue(variable: "x")) { try e.graph(at: ["q": 1]) }
        let missing = ExpressionError.missingValue(variable: "y")
        #expect(missing.column == nil)
        #expect(missing.description == "no value for variable 'y'")
        #expect(
            ExpressionError.unknownVariable("a").description
                == "'a' is not a variable of the expression")
    }

    // MARK: Values and gradients

    /// The lecture's examples, with their exact values.
    @Test func lectureExamples() throws {
        let product = try evaluate("(x + y) * x * y^2", ["x": 1, "y": 2])
        #expect(product.output.scalar == 12)
        #expect(product.gradients["x"]?.scalar == 16)
        #expect(product.gradients["y"]?.scalar == 16)

        for (text, gradient) in [
            ("2*x", 2.0), ("2*x + 999999", 2), ("x^3", 5292), ("exp(x)", Foundation.exp(42.0)),
            ("exp(2*x^3 + 10)", .infinity), ("log(exp(2*x^3 + 10))", 10584),
        ] {
            #expect(scalarGradient(try evaluate(text, ["x": 42]), "x") == gradient, "\(text)")
        }
        #expect(try evaluate("7", [:]).output.scalar == 7)
        let logExp = try ScalarExpression.parse("log(exp(2*x^3 + 10))").graph(at: ["x": 42])
        #expect(logExp.rewrites.map(\.rule) == [.logOfExp])
        #expect(try executor.gradients(logExp).output.scalar == 148186)
    }

    /// Each function's value and derivative, bitwise against the same
    /// graph built with GraphBuilder.
    @Test(arguments: ScalarExpression.Function.allCases)
    func functionsMatchTheBuilder(function: ScalarExpression.Function) throws {
        for x in [-1.5, -0.25, 0.5, 2.0] {
            let r = try evaluate("\(function.rawValue)(x * 3)", ["x": x])
            let b = GraphBuilder<Double>()
            let input = b.input("x", Tensor(x))
            let node: Node<Double>
            switch function {
            case .exp: node = exp(input * 3)
            case .log: node = log(input * 3)
            case .sqrt: node = sqrt(input * 3)
            case .sin: node = sin(input * 3)
            case .cos: node = cos(input * 3)
            case .tanh: node = tanh(input * 3)
            case .sigmoid: node = sigmoid(input * 3)
            case .relu: node = relu(input * 3)
            case .abs: node = abs(input * 3)
            }
            let expected = try executor.gradients(b.build(output: node))
            #expect(r.output.isBitwiseEqual(to: expected.output), "\(function) at \(x)")
            #expect(r.gradients["x"]!.isBitwiseEqual(to: expected[input]!), "\(function) at \(x)")
        }
    }

    @Test func operatorsAgainstHandDerivatives() throws {
        let (x, y) = (1.25, -0.75)
        let r = try evaluate("x*y - x/y + (x - y)/(x + y) - -y", ["x": x, "y": y])
        let s = x + y
        #expect(r.output.scalar! == x * y - x / y + (x - y) / s + y)
        let dx = y - 1 / y + (s - (x - y)) / (s * s)
        let dy = x + x / (y * y) + (-s - (x - y)) / (s * s) + 1
        #expect(Swift.abs(r.gradients["x"]!.scalar! - dx) < 1e-12)
        #expect(Swift.abs(r.gradients["y"]!.scalar! - dy) < 1e-12)
    }

    @Test func constantExponentsUseThePowOp() throws {
        for (text, p) in [
            ("x^2", 2.0), ("x^-2", -2), ("x^(1/2)", 0.5), ("x^(2*3)", 6), ("x^-(1+1)", -2),
            ("x^2^3", 8), ("x^exp(0)", 1), ("x^.5", 0.5),
        ] {
            let g = try ScalarExpression.parse(text).graph(at: ["x": 3])
            guard case .unary(.pow(let exponent)) = g.op(of: g.output) else {
                Issue.record("\(text): \(g.op(of: g.output))")
                continue
            }
            #expect(exponent == p, "\(text)")
            // Nothing else is computed: the input and the power.
            #expect(g.forwardOrder.count == 2, "\(text)")
        }
        let r = try evaluate("x^-2", ["x": 2])
        #expect(r.output.scalar == 0.25)
        #expect(r.gradients["x"]?.scalar == -0.25)
        // A constant base with a constant exponent is a pow of a constant.
        #expect(try evaluate("2^10", [:]).output.scalar == 1024)
    }

    @Test func variableExponentsGoThroughExpAndLog() throws {
        let (x, y) = (2.0, 3.0)
        let r = try evaluate("x^y", ["x": x, "y": y])
        let g = try ScalarExpression.parse("x^y").graph(at: ["x": x, "y": y])
        guard case .unary(.exp) = g.op(of: g.output) else {
            Issue.record("\(g.op(of: g.output))")
            return
        }
        #expect(Swift.abs(r.output.scalar! - 8) < 1e-12)
        #expect(Swift.abs(r.gradients["x"]!.scalar! - y * Foundation.pow(x, y - 1)) < 1e-12)
        #expect(Swift.abs(r.gradients["y"]!.scalar! - 8 * Foundation.log(x)) < 1e-12)
        // 2^x: d/dx = 2^x ln 2.
        let two = try evaluate("2^x", ["x": 3])
        #expect(Swift.abs(two.gradients["x"]!.scalar! - 8 * Foundation.log(2.0)) < 1e-12)
        // Undefined for a non-positive base (documented).
        #expect(try evaluate("x^y", ["x": -2, "y": 2]).output.scalar!.isNaN)
    }

    @Test func expressionsPassTheGradientCheck() throws {
        var rng = WorkloadGenerator(seed: 17)
        for text in [
            "sigmoid(x*y) + tanh(x - y)^2", "sqrt(x^2 + y^2) / (1 + abs(x))",
            "log(1 + exp(-x*y)) * cos(y)", "relu(x) * sin(y)^3 - x^y",
        ] {
            let values = ["x": rng.uniform(0.5, 2), "y": rng.uniform(0.5, 2)]
            let report = try checkGradients(ScalarExpression.parse(text).graph(at: values))
            #expect(report.passes(tolerance: 1e-7), "\(text): \(report)")
        }
    }

    @Test func simplifyCanBeTurnedOff() throws {
        let e = try ScalarExpression.parse("log(exp(2*x^3 + 10))")
        let plain = try executor.gradients(e.graph(at: ["x": 42], simplify: false))
        #expect(plain.output.scalar == .infinity)
        #expect(plain.gradients["x"]!.scalar!.isNaN)
    }
}
