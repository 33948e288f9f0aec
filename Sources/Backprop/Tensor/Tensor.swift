/// A dense, row-major, contiguous array of rank 0 through 4 over `Float` or
/// `Double`: the value of a graph node.
///
/// ```swift
/// let a = try Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 4])
/// let s: Tensor<Double> = 3.5          // a scalar (rank 0)
/// a[1, 0]                              // 3.0
/// ```
public struct Tensor<Element: TensorElement>: Sendable, Equatable, CustomStringConvertible {
    /// The dimensions.
    public let shape: Shape
    /// The elements in row-major order; `scalars.count == shape.count`.
    public internal(set) var scalars: [Element]

    /// Creates a tensor from its shape and row-major elements.
    ///
    /// - Throws: ``TensorError`` when the shape is invalid (rank above 4, a
    ///   dimension below 1) or the element count does not match it.
    public init(shape: Shape, scalars: [Element]) throws {
        if let problem = shape.validationProblem { throw TensorError.invalidShape(problem) }
        guard shape.count == scalars.count else {
            throw TensorError.countMismatch(shape: shape, count: scalars.count)
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// Internal initializer for kernels that produce a matching count by
    /// construction.
    @usableFromInline
    init(uncheckedShape shape: Shape, scalars: [Element]) {
        assert(shape.count == scalars.count)
        self.shape = shape
        self.scalars = scalars
    }

    /// A scalar (rank-0) tensor.
    public init(_ scalar: Element) {
        self.shape = .scalar
        self.scalars = [scalar]
    }

    /// A rank-1 tensor holding `values`.
    ///
    /// - Precondition: `values` is not empty (dimensions are at least 1).
    public init(_ values: [Element]) {
        precondition(!values.isEmpty, "a tensor dimension must be at least 1")
        self.shape = Shape([values.count])
        self.scalars = values
    }

    /// A rank-2 tensor from its rows.
    ///
    /// - Throws: ``TensorError/ragged`` when the rows differ in length, and
    ///   ``TensorError/invalidShape(_:)`` when there are no rows or columns.
    public init(rows: [[Element]]) throws {
        let columns = rows.first?.count ?? 0
        guard rows.allSatisfy({ $0.count == columns }) else { throw TensorError.ragged }
        try self.init(shape: [rows.count, columns], scalars: rows.flatMap { $0 })
    }

    /// A tensor whose elements all equal `value`.
    ///
    /// - Precondition: the shape is valid (rank ≤ 4, dimensions ≥ 1).
    public init(repeating value: Element, shape: Shape) {
        precondition(shape.validationProblem == nil, shape.validationProblem ?? "")
        self.shape = shape
        self.scalars = [Element](repeating: value, count: shape.count)
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: Shape) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// A tensor of ones.
    public static func ones(_ shape: Shape) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// The number of elements.
    public var count: Int { scalars.count }

    /// The only element of a one-element tensor, or `nil`.
    public var scalar: Element? { scalars.count == 1 ? scalars[0] : nil }

    /// The element at a multi-index (one index per axis).
    public subscript(indices: Int...) -> Element {
        precondition(indices.count == shape.rank, "expected \(shape.rank) indices")
        var offset = 0
        for (axis, i) in indices.enumerated() {
            precondition((0..<shape[axis]).contains(i), "index \(i) out of range on axis \(axis)")
            offset = offset * shape[axis] + i
        }
        return scalars[offset]
    }

    /// The same elements under another shape with the same element count.
    ///
    /// - Throws: ``TensorError`` when the shape is invalid or its count differs.
    public func reshaped(to newShape: Shape) throws -> Tensor {
        try Tensor(shape: newShape, scalars: scalars)
    }

    /// The elements converted to another element type (rounding to nearest).
    public func converted<Other: TensorElement>(to _: Other.Type) -> Tensor<Other> {
        Tensor<Other>(uncheckedShape: shape, scalars: scalars.map { Other($0) })
    }

    /// Whether both tensors have the same shape and every pair of elements
    /// satisfies `|a − b| ≤ absoluteTolerance + relativeTolerance · |b|`.
    /// Two NaNs count as equal; infinities must match exactly.
    public func isApproximatelyEqual(
        to other: Tensor, relativeTolerance: Element = 1e-6, absoluteTolerance: Element = 0
    ) -> Bool {
        guard shape == other.shape else { return false }
        for (a, b) in zip(scalars, other.scalars) {
            if a.isNaN && b.isNaN { continue }
            if a.isInfinite || b.isInfinite {
                if a != b { return false }
                continue
            }
            if !(abs(a - b) <= absoluteTolerance + relativeTolerance * abs(b)) { return false }
        }
        return true
    }

    /// Whether both tensors have the same shape and bit-identical elements
    /// (NaN payloads and the sign of zero included).
    public func isBitwiseEqual(to other: Tensor) -> Bool {
        guard shape == other.shape else { return false }
        for (a, b) in zip(scalars, other.scalars)
        where a.sign != b.sign || a.exponentBitPattern != b.exponentBitPattern
            || a.significandBitPattern != b.significandBitPattern
        {
            return false
        }
        return true
    }

    /// The largest `|a − b|` over all elements (NaN when any difference is
    /// NaN), or `nil` when shapes differ.
    public func maxAbsoluteDifference(from other: Tensor) -> Element? {
        guard shape == other.shape else { return nil }
        return zip(scalars, other.scalars).reduce(0) { worst, pair in
            let d = abs(pair.0 - pair.1)
            return worst.isNaN || d.isNaN ? .nan : Swift.max(worst, d)
        }
    }

    /// Nested brackets, row-major: `[[1.0, 2.0], [3.0, 4.0]]`; a bare number for a scalar.
    public var description: String {
        if shape.isScalar { return "\(scalars[0])" }
        var out = ""
        func emit(axis: Int, offset: Int) {
            out += "["
            let stride = shape.dimensions[(axis + 1)...].reduce(1, *)
            for i in 0..<shape[axis] {
                if i > 0 { out += ", " }
                if axis == shape.rank - 1 {
                    out += "\(scalars[offset + i])"
                } else {
                    emit(axis: axis + 1, offset: offset + i * stride)
                }
            }
            out += "]"
        }
        emit(axis: 0, offset: 0)
        return out
    }
}

extension Tensor: ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
    /// A scalar tensor from a literal: `let t: Tensor<Double> = 2.5`.
    public init(floatLiteral value: Double) { self.init(Element(value)) }
    /// A scalar tensor from an integer literal.
    public init(integerLiteral value: Int) { self.init(Element(value)) }
}

/// A tensor could not be created as asked.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// The shape has a rank above ``Shape/maxRank`` or a dimension below 1.
    case invalidShape(String)
    /// The number of elements does not match the shape.
    case countMismatch(shape: Shape, count: Int)
    /// Nested rows of different lengths.
    case ragged

    public var description: String {
        switch self {
        case .invalidShape(let why): "invalid tensor shape: \(why)"
        case .countMismatch(let shape, let count):
            "shape \(shape) needs \(shape.count) elements, got \(count)"
        case .ragged: "rows have different lengths"
        }
    }
}
