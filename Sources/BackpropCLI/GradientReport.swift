import Backprop

/// The result of a forward and backward pass as `backprop` prints it: the
/// output and the gradient of the output with respect to each named input,
/// in a given order. `backprop grad` and `backprop run` both print one.
///
/// Text (``text``), one line per value, tensors as nested arrays on one
/// line:
///
/// ```text
/// output: 12.0
/// gradient x: 16.0
/// gradient y: 16.0
/// ```
///
/// JSON (``json``), one line:
///
/// ```json
/// {"output": 12.0, "gradients": {"x": 16.0, "y": 16.0}}
/// ```
///
/// Numbers are in Swift's shortest round-trip form for the element type
/// (`Float` for float32 graphs, `Double` for float64), so they read back
/// to the same bits; non-finite numbers are `inf`, `-inf` and `nan` (in
/// JSON, the strings `"inf"`, `"-inf"`, `"nan"`). A rank-0 tensor is a
/// bare number. In the text form a name that is empty or holds spaces,
/// control characters, `:` or `"` is written as a JSON string literal,
/// so every line still splits at its first `: ` outside quotes.
struct GradientReport<Element: TensorElement> {
    /// The output's value.
    let output: Tensor<Element>
    /// The gradients, in the order they are printed.
    let gradients: [(name: String, value: Tensor<Element>)]

    /// The text form: `output: V`, then `gradient NAME: G` per input.
    var text: String {
        var lines = ["output: " + Self.nested(output, TextNumber.format)]
        for (name, value) in gradients {
            lines.append(
                "gradient \(Self.textName(name)): " + Self.nested(value, TextNumber.format))
        }
        return lines.joined(separator: "\n")
    }

    /// The JSON form: `{"output": V, "gradients": {"x": G, ...}}`.
    var json: String {
        JSONText.object([
            ("output", Self.nested(output, JSONText.number)),
            (
                "gradients",
                JSONText.object(gradients.map { ($0.name, Self.nested($0.value, JSONText.number)) })
            ),
        ])
    }

    /// A name as the text form writes it: bare when plain, else quoted.
    static func textName(_ name: String) -> String {
        let plain =
            !name.isEmpty
            && !name.unicodeScalars.contains {
                $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F || $0 == ":"
                    || $0 == "\""
            }
        return plain ? name : JSONText.string(name)
    }

    /// The tensor as nested arrays, `[[1.0, 2.0], [3.0, 4.0]]`, each number
    /// written by `number`; a rank-0 tensor is a bare number.
    static func nested(_ tensor: Tensor<Element>, _ number: (Element) -> String) -> String {
        let dimensions = tensor.shape.dimensions
        guard !dimensions.isEmpty else { return number(tensor.scalars[0]) }
        // slices[d]: the element count of an array at depth d. Before
        // element k a "[" opens for every depth whose array starts at k;
        // after it a "]" closes for every depth whose array ends there.
        let slices = dimensions.indices.map { dimensions[$0...].reduce(1, *) }
        var out = ""
        for (k, value) in tensor.scalars.enumerated() {
            let opening = slices.filter { k % $0 == 0 }.count
            if k > 0 { out += ", " }
            out += String(repeating: "[", count: opening) + number(value)
            out += String(repeating: "]", count: slices.filter { (k + 1) % $0 == 0 }.count)
        }
        return out
    }
}
