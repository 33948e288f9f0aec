// A small JSON reader for graph files (RFC 8259), written for untrusted
// input: it never traps, whatever the bytes.
//
// - Numbers keep their literal text, so each element type parses it once
//   with correct rounding (`Float("0.1")` is not `Float(Double("0.1")!)`
//   in every case) and integers beyond 2^53 stay exact.
// - Every error carries the byte offset where it was found; the caller turns
//   it into a line and a column only when it reports the error.
// - Nesting is limited to `JSONParser.maxDepth` levels, so the recursive
//   descent cannot overflow the stack.
// - Duplicate keys in an object, lone surrogates, invalid UTF-8, unescaped
//   control characters and anything after the top-level value are errors.

/// A parsed JSON value.
enum JSONValue {
    case null
    case bool(Bool)
    /// A number, as its literal text (it matches the JSON number grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// What the value is, for error messages: "a string", "an array", ...
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON object: its members in file order, keys unique.
struct JSONObject {
    var members: [(key: String, value: JSONValue)] = []

    /// The value of `key`, if present.
    subscript(key: String) -> JSONValue? {
        members.first { $0.key == key }?.value
    }
}

/// A syntax error at a byte offset of the input.
struct JSONSyntaxError: Error {
    let offset: Int
    let message: String
}

/// A recursive-descent JSON parser over UTF-8 bytes.
struct JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    static let maxDepth = 64

    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses one JSON document: a single value, optionally surrounded by
    /// whitespace (and preceded by a UTF-8 byte order mark).
    static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.position = 3 }
        let value = try parser.value()
        parser.skipWhitespace()
        if let byte = parser.peek() {
            throw parser.error("unexpected \(describe(byte)) after the top-level value")
        }
        return value
    }

    /// The 1-based line and column of a byte offset; columns count Unicode
    /// scalars, not bytes.
    static func location(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in bytes[..<Swift.min(Swift.max(offset, 0), bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }

    // MARK: - Values

    private mutating func value() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        guard let byte = peek() else { throw error("expected a value, found the end of the input") }
        switch byte {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            throw error("expected a value, found \(Self.describe(byte))")
        }
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let start = position
        for byte in word.utf8 {
            guard peek() == byte else {
                position = start
                throw error("invalid literal; expected '\(word)'")
            }
            position += 1
        }
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        guard depth <= Self.maxDepth else {
            throw error("nesting deeper than \(Self.maxDepth) levels")
        }
    }

    private mutating func object() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        position += 1  // '{'
        var object = JSONObject()
        var keys = Set<String>()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else {
                throw error("expected a string key, found \(describeNext())")
            }
            let keyStart = position
            let key = try string()
            guard keys.insert(key).inserted else {
                throw JSONSyntaxError(
                    offset: keyStart, message: "duplicate key \(GraphFileError.quoted(key))")
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else {
                throw error("expected ':' after a key, found \(describeNext())")
            }
            position += 1
            let member = try value()
            object.members.append((key, member))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return .object(object)
            default:
                throw error("expected ',' or '}' in an object, found \(describeNext())")
            }
        }
    }

    private mutating func array() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        position += 1  // '['
        var items: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(items)
        }
        while true {
            items.append(try value())
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "]"):
                position += 1
                depth -= 1
                return .array(items)
            default:
                throw error("expected ',' or ']' in an array, found \(describeNext())")
            }
        }
    }

    // MARK: - Numbers

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as text.
    private mutating func number() throws(JSONSyntaxError) -> String {
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        guard let first = peek(), Self.isDigit(first) else {
            throw error("expected a digit, found \(describeNext())")
        }
        position += 1
        if first == UInt8(ascii: "0") {
            if let next = peek(), Self.isDigit(next) {
                throw error("a number cannot start with a leading zero")
            }
        } else {
            skipDigits()
        }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard let d = peek(), Self.isDigit(d) else {
                throw error("expected a digit after '.', found \(describeNext())")
            }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard let d = peek(), Self.isDigit(d) else {
                throw error("expected a digit in the exponent, found \(describeNext())")
            }
            skipDigits()
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func skipDigits() {
        while let d = peek(), Self.isDigit(d) { position += 1 }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    // MARK: - Strings

    private mutating func string() throws(JSONSyntaxError) -> String {
        position += 1  // '"'
        var decoded: [UInt8] = []
        var segmentStart = position
        while true {
            guard let byte = peek() else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                decoded.append(contentsOf: bytes[segmentStart..<position])
                position += 1
                return String(decoding: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                decoded.append(contentsOf: bytes[segmentStart..<position])
                try escape(into: &decoded)
                segmentStart = position
            case 0..<0x20:
                throw error("control character \(Self.describe(byte)) in a string must be escaped")
            case 0x80...:
                try skipUTF8Sequence()
            default:
                position += 1
            }
        }
    }

    private mutating func escape(into decoded: inout [UInt8]) throws(JSONSyntaxError) {
        let start = position
        position += 1  // '\'
        guard let kind = peek() else { throw error("unterminated string") }
        position += 1
        switch kind {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(kind)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            var value = try hexQuad()
            if (0xD800..<0xDC00).contains(value) {
                // A high surrogate must be followed by an escaped low one.
                guard peek() == UInt8(ascii: "\\"), peek(at: 1) == UInt8(ascii: "u") else {
                    throw JSONSyntaxError(
                        offset: start, message: "unpaired surrogate in \\u escape")
                }
                position += 2
                let low = try hexQuad()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw JSONSyntaxError(
                        offset: start, message: "unpaired surrogate in \\u escape")
                }
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(value) {
                throw JSONSyntaxError(offset: start, message: "unpaired surrogate in \\u escape")
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw JSONSyntaxError(offset: start, message: "invalid \\u escape")
            }
            UTF8.encode(scalar) { decoded.append($0) }
        default:
            position -= 1
            throw error("invalid escape '\\' followed by \(describeNext())")
        }
    }

    private mutating func hexQuad() throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw error("unterminated \\u escape") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw error("expected a hexadecimal digit in \\u escape, found \(describeNext())")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// Skips one well-formed UTF-8 sequence of two to four bytes (no
    /// overlong forms, no surrogates, nothing above U+10FFFF).
    private mutating func skipUTF8Sequence() throws(JSONSyntaxError) {
        guard let lead = peek() else { return }
        let continuation: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: continuation = 1
        case 0xE0:
            continuation = 2
            secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: continuation = 2
        case 0xED:
            continuation = 2
            secondRange = 0x80...0x9F
        case 0xF0:
            continuation = 3
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: continuation = 3
        case 0xF4:
            continuation = 3
            secondRange = 0x80...0x8F
        default: throw error("invalid UTF-8: unexpected \(Self.describe(lead)) in a string")
        }
        for k in 1...continuation {
            guard let byte = peek(at: k), (k == 1 ? secondRange : 0x80...0xBF).contains(byte) else {
                throw error("invalid UTF-8 sequence in a string")
            }
        }
        position += continuation + 1
    }

    // MARK: - Bytes

    private func peek(at offset: Int = 0) -> UInt8? {
        let i = position + offset
        return i < bytes.count ? bytes[i] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(),
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t")
                || byte == UInt8(ascii: "\r")
        {
            position += 1
        }
    }

    private func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: position, message: message)
    }

    private func describeNext() -> String {
        peek().map(Self.describe) ?? "the end of the input"
    }

    /// A byte as an error message shows it: `'x'` when printable ASCII, else `byte 0xFF`.
    private static func describe(_ byte: UInt8) -> String {
        if (0x21..<0x7F).contains(byte) { return "'\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x\(hex.count == 1 ? "0" : "")\(hex)"
    }
}
