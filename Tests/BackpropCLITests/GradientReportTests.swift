import Backprop
import Testing

@testable import BackpropCLI

/// The result formatting that `grad` and `run` share, on tensors of every
/// rank, both element types, non-finite numbers and awkward names.
@Suite struct GradientReportTests {
    @Test func nestedArraysOfEveryRank() throws {
        let cases: [(Shape, String)] = [
            ([], "1.0"),
            ([1], "[1.0]"),
            ([3], "[1.0, 2.0, 3.0]"),
            ([2, 2], "[[1.0, 2.0], [3.0, 4.0]]"),
            ([3, 1], "[[1.0], [2.0], [3.0]]"),
            ([2, 1, 2], "[[[1.0, 2.0]], [[3.0, 4.0]]]"),
            (
                [2, 2, 1, 2],
                "[[[[1.0, 2.0]], [[3.0, 4.0]]], [[[5.0, 6.0]], [[7.0, 8.0]]]]"
            ),
        ]
        for (shape, expected) in cases {
            let t = try Tensor<Double>(shape: shape, scalars: (1...shape.count).map(Double.init))
            #expect(GradientReport<Double>.nested(t, TextNumber.format) == expected, "\(shape)")
            #expect(t.description == expected, "the same as Tensor's own form")
        }
    }

    @Test func textAndJSON() throws {
        let report = GradientReport<Double>(
            output: Tensor(0.1),
            gradients: [
                ("W", try Tensor(rows: [[1e-5, -0.0], [.infinity, -.infinity]])),
                ("b", Tensor([.nan, 2.5e300])),
            ])
        #expect(
            report.text == """
                output: 0.1
                gradient W: [[1e-05, -0.0], [inf, -inf]]
                gradient b: [nan, 2.5e+300]
                """)
        #expect(
            report.json
                == #"{"output": 0.1, "gradients": {"W": [[1e-05, -0.0], ["inf", "-inf"]], "b": ["nan", 2.5e+300]}}"#
        )
    }

    @Test func float32UsesFloatsShortestForm() {
        let report = GradientReport<Float>(output: Tensor(0.1), gradients: [("x", Tensor(1 / 3))])
        #expect(report.text == "output: 0.1\ngradient x: 0.33333334")
        #expect(report.json == #"{"output": 0.1, "gradients": {"x": 0.33333334}}"#)
    }

    @Test func noGradients() {
        let report = GradientReport<Double>(output: Tensor(7), gradients: [])
        #expect(report.text == "output: 7.0")
        #expect(report.json == #"{"output": 7.0, "gradients": {}}"#)
    }

    @Test func namesAreEscaped() {
        let names = [
            "a b", "q\"uote", "back\\slash", "new\nline", "tab\t", "colon:", "", "ünï", "\u{1}",
        ]
        let report = GradientReport<Double>(
            output: Tensor(1), gradients: names.map { ($0, Tensor(2)) })
        #expect(
            report.json
                == #"{"output": 1.0, "gradients": {"a b": 2.0, "q\"uote": 2.0, "back\\slash": 2.0, "new\nline": 2.0, "tab\t": 2.0, "colon:": 2.0, "": 2.0, "ünï": 2.0, "\u0001": 2.0}}"#
        )
        #expect(
            report.text.split(separator: "\n") == [
                "output: 1.0", #"gradient "a b": 2.0"#, #"gradient "q\"uote": 2.0"#,
                #"gradient back\slash: 2.0"#, #"gradient "new\nline": 2.0"#,
                #"gradient "tab\t": 2.0"#,
                #"gradient "colon:": 2.0"#, #"gradient "": 2.0"#, "gradient ünï: 2.0",
                #"gradient "\u0001": 2.0"#,
            ])
    }

    @Test func oneLineErrors() {
        let failure = CLIFailure.badInput("first\n  second\n\nthird  ")
        #expect(failure.description == "error: first; second; third")
        #expect(failure.status == .badInput)
        #expect(CLIFailure.checkFailed("x").status.rawValue == 1)
    }
}
