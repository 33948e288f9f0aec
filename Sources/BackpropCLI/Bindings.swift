/// Variable values from `--at` options: `NAME=NUMBER` items separated by
/// commas, in one option or several (`--at x=1,y=2` or `--at x=1 --at y=2`).
///
/// A number is any text Swift's `Double(_:)` reads: `2`, `-0.5`, `1e-3`,
/// `0x1p-2`, `inf`, `nan`. Spaces around names and numbers are ignored.
enum Bindings {
    /// The values by name.
    ///
    /// - Throws: ``CLIFailure`` (bad input) for an empty item, an item
    ///   without `=`, an empty name or value, a value that is not a number,
    ///   and a name given twice.
    static func parse(_ options: [String]) throws(CLIFailure) -> [String: Double] {
        var values: [String: Double] = [:]
        for option in options {
            for item in option.split(separator: ",", omittingEmptySubsequences: false) {
                let text = item.trimmingSpaces
                guard !text.isEmpty else {
                    throw .badInput("--at '\(option)': empty item (expected NAME=NUMBER)")
                }
                guard let equals = text.firstIndex(of: "=") else {
                    throw .badInput("--at '\(text)': expected NAME=NUMBER")
                }
                let name = text[..<equals].trimmingSpaces
                let number = text[text.index(after: equals)...].trimmingSpaces
                guard !name.isEmpty else { throw .badInput("--at '\(text)': no variable name") }
                guard !number.isEmpty else { throw .badInput("--at '\(text)': no value") }
                guard let value = Double(number) else {
                    throw .badInput("--at '\(text)': '\(number)' is not a number")
                }
                guard values.updateValue(value, forKey: name) == nil else {
                    throw .badInput("--at: '\(name)' is given more than once")
                }
            }
        }
        return values
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }),
            let last = lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(self[first...last])
    }
}
