/// A scalar expression in one line of text, such as `(x + y) * x * y^2`,
/// parsed into a syntax tree that builds a ``Graph``: the form that
/// `backprop grad` takes its functions in.
///
/// ```swift
/// let f = try ScalarExpression.parse("(x + y) * x * y^2")
/// f.variables                                  // ["x", "y"]
/// let graph = try f.graph(at: ["x": 1, "y": 2])
/// let result = try ReferenceExecutor().gradients(graph)
/// result.output                                // 12.0
/// result.gradients["x"]                        // 16.0
/// ```
///
/// The grammar, loosest binding first:
///
/// ```text
/// expression := term (("+" | "-") term)*           left-associative
/// term       := unary (("*" | "/") unary)*          left-associative
/// unary      := "-" unary | power
/// power      := primary ("^" unary)?                right-associative
/// primary    := number | variable | function "(" expression ")" | "(" expression ")"
/// ```
///
/// So `^` binds tighter than unary minus (`-x^2` is `-(x^2)`), its exponent
/// may be negative (`x^-2`), and `2^3^2` is `2^(3^2)`. Numbers are decimal
/// literals with an optional fraction and exponent (`3`, `2.5`, `.5`, `1.`,
/// `1e-3`, `2.5E+4`). Variables are ASCII identifiers (`x`, `w_1`); the
/// function names (``Function``) are reserved. Spaces and tabs are ignored.
/// There is no implicit multiplication: `2x` is an error.
///
/// The tree is stored flat: ``subexpressions`` lists every node with its
/// operands before it and the whole expression last, so that neither
/// building, copying nor destroying a long expression recurses.
public struct ScalarExpression: Sendable, Hashable, CustomStringConvertible {
    /// A binary operator.
    public enum BinaryOperator: Character, Sendable, Hashable, CaseIterable {
        /// a + b.
        case add = "+"
        /// a − b.
        case subtract = "-"
        /// a · b.
        case multiply = "*"
        /// a / b.
        case divide = "/"
        /// aᵇ: the `pow` op when b is constant, else exp(b · log a) (see
        /// ``ScalarExpression/graph(at:simplify:)``).
        case power = "^"
    }

    /// A function of one argument, written `name(argument)`.
    public enum Function: String, Sendable, Hashable, CaseIterable {
        /// eˣ.
        case exp
        /// ln x.
        case log
        /// √x.
        case sqrt
        /// sin x.
        case sin
        /// cos x.
        case cos
        /// tanh x.
        case tanh
        /// σ(x) = 1 / (1 + e⁻ˣ).
        case sigmoid
        /// max(x, 0).
        case relu
        /// |x|.
        case abs

        /// The op that computes the function.
        var unary: UnaryFunction {
            switch self {
            case .exp: .exp
            case .log: .log
            case .sqrt: .sqrt
            case .sin: .sin
            case .cos: .cos
            case .tanh: .tanh
            case .sigmoid: .sigmoid
            case .relu: .relu
            case .abs: .abs
            }
        }
    }

    /// One node of the syntax tree. Operands are indices into
    /// ``ScalarExpression/subexpressions``, always smaller than the index of
    /// the node that uses them.
    public enum Subexpression: Sendable, Hashable {
        /// A numeric literal.
        case number(Double)
        /// One occurrence of a variable.
        case variable(String)
        /// Unary minus.
        case negation(Int)
        /// A binary operation on two operands.
        case binary(BinaryOperator, Int, Int)
        /// A function applied to an operand.
        case function(Function, Int)
    }

    /// Every node of the tree, operands first; the last is the whole
    /// expression.
    public let subexpressions: [Subexpression]

    /// The variables, each once, in order of first appearance in the text.
    public let variables: [String]

    /// The index of the whole expression in ``subexpressions``.
    public var root: Int { subexpressions.count - 1 }

    init(subexpressions: [Subexpression]) {
        precondition(!subexpressions.isEmpty, "an expression has at least one node")
        self.subexpressions = subexpressions
        var seen: Set<String> = []
        var variables: [String] = []
        for case .variable(let name) in subexpressions where seen.insert(name).inserted {
            variables.append(name)
        }
        self.variables = variables
    }

    /// Parses one expression.
    ///
    /// - Parameter text: The expression, e.g. `log(exp(2*x^3 + 10))`.
    /// - Returns: The syntax tree.
    /// - Throws: ``ExpressionError`` with the 1-based column (in characters)
    ///   where the text stops making sense.
    /// - Complexity: O(n) in the length of the text.
    public static func parse(_ text: String) throws(ExpressionError) -> ScalarExpression {
        var parser = ExpressionParser(text)
        return try parser.parseAll()
    }

    /// The expression fully parenthesised, with numbers in Swift's
    /// shortest round-trip form: `(x + y) * x * y^2` reads back as
    /// `(((x + y) * x) * (y ^ 2.0))`. Parsing the description gives the
    /// same tree.
    public var description: String {
        // An explicit stack, so a long expression does not recurse.
        enum Step {
            case visit(Int)
            case text(String)
        }
        var out = ""
        var stack: [Step] = [.visit(root)]
        while let step = stack.popLast() {
            switch step {
            case .text(let s):
                out += s
            case .visit(let i):
                switch subexpressions[i] {
                case .number(let value):
                    out += "\(value)"
                case .variable(let name):
                    out += name
                case .negation(let a):
                    out += "(-"
                    stack += [.text(")"), .visit(a)]
                case .binary(let op, let a, let b):
                    out += "("
                    stack += [.text(")"), .visit(b), .text(" \(op.rawValue) "), .visit(a)]
                case .function(let f, let a):
                    out += "\(f.rawValue)("
                    stack += [.text(")"), .visit(a)]
                }
            }
        }
        return out
    }
}
