/// Why a ``ScalarExpression`` could not be parsed, or could not be bound
/// to values.
///
/// Parse errors carry the 1-based ``column`` (counted in characters) of
/// the text where the problem is; ``description`` is one line, e.g.
/// `column 7: expected ')', found end of input`.
public enum ExpressionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A character that starts no token (`$`, `,`, `π`, …).
    case unexpectedCharacter(Character, column: Int)
    /// A numeric literal that is malformed (`1e`, `.`) or not finite
    /// (`1e999`).
    case invalidNumber(String, column: Int)
    /// Something other than what the grammar needs here; `expected` and
    /// `found` are phrases such as `"')'"` and `"end of input"`.
    case expected(String, found: String, column: Int)
    /// A `)` without a matching `(`.
    case unmatchedParenthesis(column: Int)
    /// A name followed by `(` that is not one of the functions
    /// (``ScalarExpression/Function``).
    case unknownFunction(String, column: Int)
    /// Parentheses, function calls, unary minus and exponents nested more
    /// than `limit` deep.
    case nestingTooDeep(limit: Int, column: Int)
    /// A variable of the expression that was given no value.
    case missingValue(variable: String)
    /// A value for a name that is not a variable of the expression.
    case unknownVariable(String)

    /// The 1-based column of a parse error; `nil` for binding errors.
    public var column: Int? {
        switch self {
        case .unexpectedCharacter(_, let column), .invalidNumber(_, let column),
            .expected(_, _, let column), .unmatchedParenthesis(let column),
            .unknownFunction(_, let column), .nestingTooDeep(_, let column):
            column
        case .missingValue, .unknownVariable:
            nil
        }
    }

    /// What is wrong, without the column.
    public var message: String {
        switch self {
        case .unexpectedCharacter(let character, _):
            "unexpected character '\(character)'"
        case .invalidNumber(let text, _):
            "invalid number '\(text)'"
        case .expected(let expected, let found, _):
            "expected \(expected), found \(found)"
        case .unmatchedParenthesis:
            "unmatched ')'"
        case .unknownFunction(let name, _):
            "unknown function '\(name)' (functions: "
                + ScalarExpression.Function.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        case .nestingTooDeep(let limit, _):
            "nested more than \(limit) deep"
        case .missingValue(let variable):
            "no value for variable '\(variable)'"
        case .unknownVariable(let name):
            "'\(name)' is not a variable of the expression"
        }
    }

    /// One line: `column N: ` and the ``message`` for parse errors, the
    /// message alone for binding errors.
    public var description: String {
        column.map { "column \($0): \(message)" } ?? message
    }
}
