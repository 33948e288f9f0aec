import Foundation
import Testing

/// `backprop grad`, run as a process: golden text and JSON, then errors.
@Suite struct GradCommandTests {
    @Test func lectureProductExampleText() throws {
        let r = try CLI.run("grad", "(x+y)*x*y^2", "--at", "x=1,y=2")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "output: 12.0\ngradient x: 16.0\ngradient y: 16.0\n")
        #expect(r.stderr == "")
    }

    @Test func lectureProductExampleJSON() throws {
        let r = try CLI.run("grad", "(x+y)*x*y^2", "--at", "x=1,y=2", "--json")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == #"{"output": 12.0, "gradients": {"x": 16.0, "y": 16.0}}"# + "\n")
        #expect(r.stderr == "")
        // It is JSON.
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((object?["gradients"] as? [String: Double])?["y"] == 16)
    }

    /// The lecture's seven functions at x = 42, text and JSON; the exact
    /// values of LectureTests. `7` has no variable, so it takes no `--at`.
    @Test(
        arguments: [
            ("7", "7.0", nil),
            ("2*x", "84.0", "2.0"),
            ("2*x+999999", "1000083.0", "2.0"),
            ("x^3", "74088.0", "5292.0"),
            ("exp(x)", "1.739274941520501e+18", "1.739274941520501e+18"),
            ("exp(2*x^3+10)", "inf", "inf"),
            ("log(exp(2*x^3+10))", "148186.0", "10584.0"),
        ] as [(String, String, String?)])
    func lectureFunctionsAt42(expression: String, output: String, gradient: String?) throws {
        let at = gradient == nil ? [] : ["--at", "x=42"]
        let text = try CLI.run(["grad", expression] + at)
        #expect(text.status == 0, "\(text)")
        #expect(
            text.stdout == "output: \(output)\n" + (gradient.map { "gradient x: \($0)\n" } ?? ""))

        let json = try CLI.run(["grad", expression, "--json"] + at)
        #expect(json.status == 0, "\(json)")
        func quoted(_ v: String) -> String { v == "inf" ? #""inf""# : v }
        let gradients = gradient.map { #"{"x": "# + quoted($0) + "}" } ?? "{}"
        #expect(
            json.stdout == #"{"output": \#(quoted(output)), "gradients": \#(gradients)}"# + "\n")
    }

    @Test func nonFiniteNumbersAreStringsInJSON() throws {
        let negative = try CLI.run("grad", "-exp(x)", "--at", "x=1000", "--json")
        #expect(negative.stdout == #"{"output": "-inf", "gradients": {"x": "-inf"}}"# + "\n")
        let nan = try CLI.run("grad", "sqrt(x)", "--at", "x=-1", "--json")
        #expect(nan.stdout == #"{"output": "nan", "gradients": {"x": "nan"}}"# + "\n")
        let text = try CLI.run("grad", "sqrt(x)", "--at", "x=-1")
        #expect(text.stdout == "output: nan\ngradient x: nan\n")
        #expect(negative.status == 0 && nan.status == 0 && text.status == 0)
    }

    @Test func gradientsInOrderOfFirstAppearance() throws {
        let r = try CLI.run("grad", "b*a + c/a", "--at", "a=2", "--at", "c=1,b=3")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "output: 6.5\ngradient b: 2.0\ngradient a: 2.75\ngradient c: 0.5\n")
    }

    @Test func expressionMayStartWithMinus() throws {
        let r = try CLI.run("grad", "-x^2", "--at", "x=3")
        #expect(r.stdout == "output: -9.0\ngradient x: -6.0\n", "\(r)")
        let afterOptions = try CLI.run("grad", "--at", "x=3", "--", "-x^2")
        #expect(afterOptions.stdout == r.stdout, "\(afterOptions)")
    }

    /// Parse errors: status 2, nothing on standard output, one line on
    /// standard error with the column.
    @Test(arguments: [
        ("exp(x+1", "error: column 8: expected ')', found end of input"),
        ("(x+y", "error: column 5: expected ')', found end of input"),
        ("2x", "error: column 2: expected an operator, found 'x'"),
        ("x $ 1", "error: column 3: unexpected character '$'"),
        ("x + 1e+", "error: column 5: invalid number '1e+'"),
        ("x*(1e999)", "error: column 4: invalid number '1e999'"),
        ("x + * 2", "error: column 5: expected an operand, found '*'"),
        ("x)", "error: column 2: unmatched ')'"),
        ("exp x", "error: column 5: expected '(' after 'exp', found 'x'"),
        ("", "error: column 1: expected an expression, found end of input"),
        (
            "  foo(x)",
            "error: column 3: unknown function 'foo' (functions: exp, log, sqrt, sin, cos, tanh, sigmoid, relu, abs)"
        ),
    ])
    func parseErrors(expression: String, line: String) throws {
        let r = try CLI.run("grad", expression, "--at", "x=1")
        #expect(r.status == 2, "\(r)")
        #expect(!r.crashed)
        #expect(r.stdout == "")
        #expect(r.stderr == line + "\n")
    }

    @Test func tooDeepANestingIsAnErrorNotACrash() throws {
        let r = try CLI.run("grad", String(repeating: "(", count: 100_000) + "x", "--at", "x=1")
        #expect(r.status == 2, "\(r)")
        #expect(!r.crashed)
        #expect(r.stderr == "error: column 201: nested more than 200 deep\n")
    }

    /// Bad `--at` values: status 2 and one `error:` line naming the problem.
    @Test(arguments: [
        ("x+y", "x=1", "error: no value for variable 'y' (give one with --at y=NUMBER)"),
        (
            "x", "x=1,z=2",
            "error: --at: 'z' is not a variable of the expression (its variables: x)"
        ),
        ("7", "x=1", "error: --at: 'x' is not a variable of the expression (it has none)"),
        ("x", "x=", "error: --at 'x=': no value"),
        ("x", "x=abc", "error: --at 'x=abc': 'abc' is not a number"),
        ("x", "=1", "error: --at '=1': no variable name"),
        ("x", "x", "error: --at 'x': expected NAME=NUMBER"),
        ("x", "x=1,", "error: --at 'x=1,': empty item (expected NAME=NUMBER)"),
        ("x", "x=1,x=2", "error: --at: 'x' is given more than once"),
    ])
    func badBindings(expression: String, at: String, line: String) throws {
        let r = try CLI.run("grad", expression, "--at", at)
        #expect(r.status == 2, "\(r)")
        #expect(r.stdout == "")
        #expect(r.stderr == line + "\n")
    }

    @Test func bindingsAcrossRepeatedOptions() throws {
        let twice = try CLI.run("grad", "x", "--at", "x=1", "--at", "x=2")
        #expect(twice.status == 2)
        #expect(twice.stderr == "error: --at: 'x' is given more than once\n")
        let spaced = try CLI.run("grad", "x*y", "--at", " x = 1.5 , y=-2e0")
        #expect(spaced.stdout == "output: -3.0\ngradient x: -2.0\ngradient y: 1.5\n", "\(spaced)")
    }
}
