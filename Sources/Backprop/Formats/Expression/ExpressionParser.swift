/// A recursive-descent parser for ``ScalarExpression`` (the grammar is in
/// its documentation), with a lexer that reads one token ahead.
///
/// Sums and products are parsed by loops, so a long flat expression does
/// not recurse; nesting (parentheses, calls, unary minus, exponents)
/// recurses and is limited to ``nestingLimit`` levels, so no input can
/// exhaust the stack.
struct ExpressionParser {
    /// A token and the 1-based column of its first character.
    struct Token {
        enum Kind: Equatable {
            case number(Double)
            case identifier(String)
            /// One of `+ - * / ^ ( )`.
            case symbol(Character)
            case end
        }
        let kind: Kind
        let text: String
        let column: Int

        /// The token as error messages quote it.
        var quoted: String { kind == .end ? "end of input" : "'\(text)'" }
    }

    /// The deepest nesting accepted.
    static var nestingLimit: Int { 200 }

    private let characters: [Character]
    private var position = 0
    private var current: Token
    private var depth = 0
    private var nodes: [ScalarExpression.Subexpression] = []

    init(_ text: String) {
        characters = Array(text)
        current = Token(kind: .end, text: "", column: 1)
    }

    /// The whole text as one expression.
    mutating func parseAll() throws(ExpressionError) -> ScalarExpression {
        try advance()
        if current.kind == .end {
            throw .expected("an expression", found: "end of input", column: current.column)
        }
        _ = try parseSum()
        switch current.kind {
        case .end:
            return ScalarExpression(subexpressions: nodes)
        case .symbol(")"):
            throw .unmatchedParenthesis(column: current.column)
        default:
            throw .expected("an operator", found: current.quoted, column: current.column)
        }
    }

    // MARK: Grammar

    /// expression := term (("+" | "-") term)*
    private mutating func parseSum() throws(ExpressionError) -> Int {
        var left = try parseProduct()
        while case .symbol(let c) = current.kind, c == "+" || c == "-" {
            try advance()
            let right = try parseProduct()
            left = append(.binary(c == "+" ? .add : .subtract, left, right))
        }
        return left
    }

    /// term := unary (("*" | "/") unary)*
    private mutating func parseProduct() throws(ExpressionError) -> Int {
        var left = try parseUnary()
        while case .symbol(let c) = current.kind, c == "*" || c == "/" {
            try advance()
            let right = try parseUnary()
            left = append(.binary(c == "*" ? .multiply : .divide, left, right))
        }
        return left
    }

    /// unary := "-" unary | power
    private mutating func parseUnary() throws(ExpressionError) -> Int {
        guard current.kind == .symbol("-") else { return try parsePower() }
        try enter()
        try advance()
        let operand = try parseUnary()
        depth -= 1
        return append(.negation(operand))
    }

    /// power := primary ("^" unary)?
    private mutating func parsePower() throws(ExpressionError) -> Int {
        let base = try parsePrimary()
        guard current.kind == .symbol("^") else { return base }
        try enter()
        try advance()
        let exponent = try parseUnary()
        depth -= 1
        return append(.binary(.power, base, exponent))
    }

    /// primary := number | variable | function "(" expression ")" | "(" expression ")"
    private mutating func parsePrimary() throws(ExpressionError) -> Int {
        let token = current
        switch token.kind {
        case .number(let value):
            try advance()
            return append(.number(value))
        case .identifier(let name):
            try advance()
            let function = ScalarExpression.Function(rawValue: name)
            guard current.kind == .symbol("(") else {
                if function != nil {
                    throw .expected(
                        "'(' after '\(name)'", found: current.quoted, column: current.column)
                }
                return append(.variable(name))
            }
            guard let function else { throw .unknownFunction(name, column: token.column) }
            let argument = try parseParenthesised()
            return append(.function(function, argument))
        case .symbol("("):
            return try parseParenthesised()
        case .symbol(")") where depth == 0:
            throw .unmatchedParenthesis(column: token.column)
        default:
            throw .expected("an operand", found: token.quoted, column: token.column)
        }
    }

    /// "(" expression ")", at the opening parenthesis.
    private mutating func parseParenthesised() throws(ExpressionError) -> Int {
        try enter()
        try advance()
        let inner = try parseSum()
        guard current.kind == .symbol(")") else {
            throw .expected("')'", found: current.quoted, column: current.column)
        }
        try advance()
        depth -= 1
        return inner
    }

    private mutating func enter() throws(ExpressionError) {
        depth += 1
        if depth > Self.nestingLimit {
            throw .nestingTooDeep(limit: Self.nestingLimit, column: current.column)
        }
    }

    private mutating func append(_ node: ScalarExpression.Subexpression) -> Int {
        nodes.append(node)
        return nodes.count - 1
    }

    // MARK: Lexer

    /// Moves to the next token.
    private mutating func advance() throws(ExpressionError) {
        while position < characters.count,
            characters[position] == " " || characters[position] == "\t"
        {
            position += 1
        }
        let start = position
        let column = start + 1
        guard position < characters.count else {
            current = Token(kind: .end, text: "", column: column)
            return
        }
        let c = characters[position]
        if Self.isDigit(c)
            || (c == "." && position + 1 < characters.count
                && Self.isDigit(characters[position + 1]))
        {
            current = try lexNumber()
            return
        }
        if Self.isIdentifierStart(c) {
            while position < characters.count,
                Self.isIdentifierStart(characters[position]) || Self.isDigit(characters[position])
            {
                position += 1
            }
            let name = String(characters[start..<position])
            current = Token(kind: .identifier(name), text: name, column: column)
            return
        }
        if "+-*/^()".contains(c) {
            position += 1
            current = Token(kind: .symbol(c), text: String(c), column: column)
            return
        }
        if c == "." { throw .invalidNumber(".", column: column) }
        throw .unexpectedCharacter(c, column: column)
    }

    /// digits ["." digits] | "." digits, then an optional exponent
    /// [eE] [+-] digits.
    private mutating func lexNumber() throws(ExpressionError) -> Token {
        let start = position
        func skipDigits(_ p: inout Int, _ characters: [Character]) {
            while p < characters.count, Self.isDigit(characters[p]) { p += 1 }
        }
        skipDigits(&position, characters)
        if position < characters.count, characters[position] == "." {
            position += 1
            skipDigits(&position, characters)
        }
        if position < characters.count, characters[position] == "e" || characters[position] == "E" {
            position += 1
            if position < characters.count,
                characters[position] == "+" || characters[position] == "-"
            {
                position += 1
            }
            let digits = position
            skipDigits(&position, characters)
            if position == digits {
                throw .invalidNumber(String(characters[start..<position]), column: start + 1)
            }
        }
        let text = String(characters[start..<position])
        guard let value = Double(text), value.isFinite else {
            throw .invalidNumber(text, column: start + 1)
        }
        return Token(kind: .number(value), text: text, column: start + 1)
    }

    private static func isDigit(_ c: Character) -> Bool { c.isASCII && c >= "0" && c <= "9" }

    private static func isIdentifierStart(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c == "_")
    }
}
