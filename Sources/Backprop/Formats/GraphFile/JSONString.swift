/// JSON string literals, written one way everywhere: graph files, Chrome
/// traces, and the CLI's output (`package`: shared with the CLI target).
package enum JSONString {
    /// `text` as a JSON string literal: quotes, backslashes and control
    /// characters escaped (`\n`, `\t`, … or `\u00XX`); everything else as is.
    package static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16, uppercase: false)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
