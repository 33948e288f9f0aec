import Backprop

/// The pieces of JSON that `backprop` writes by hand, so that the output
/// is exactly the documented text (docs/cli.md): numbers in Swift's
/// shortest round-trip form, non-finite numbers as strings.
enum JSONText {
    /// A JSON string literal: quotes, backslashes and control characters
    /// escaped; everything else as is (UTF-8).
    static func string(_ text: String) -> String { JSONString.quoted(text) }

    /// A number in Swift's shortest round-trip form (`12.0`, `1e-05`), or
    /// the string `"inf"`, `"-inf"` or `"nan"`.
    static func number<Element: TensorElement>(_ value: Element) -> String {
        value.isFinite ? "\(value)" : "\"\(TextNumber.nonFinite(value))\""
    }

    /// An integer.
    static func number(_ value: Int) -> String { "\(value)" }

    /// A Boolean.
    static func bool(_ value: Bool) -> String { value ? "true" : "false" }

    /// An object with its members in the order given.
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// An array of already formatted values.
    static func array(_ values: [String]) -> String {
        "[" + values.joined(separator: ", ") + "]"
    }
}

/// Numbers in `backprop`'s text output.
enum TextNumber {
    /// Swift's shortest round-trip form, or `inf`, `-inf`, `nan`.
    static func format<Element: TensorElement>(_ value: Element) -> String {
        value.isFinite ? "\(value)" : nonFinite(value)
    }

    /// `inf`, `-inf` or `nan` (every NaN, whatever its sign or payload).
    static func nonFinite<Element: TensorElement>(_ value: Element) -> String {
        value.isNaN ? "nan" : value < 0 ? "-inf" : "inf"
    }
}
