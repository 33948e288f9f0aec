/// The dimensions of a tensor, outermost first (row-major).
///
/// A shape of rank 0 (`[]`) is a scalar. Ranks 0 through ``Shape/maxRank`` are
/// supported, and every dimension is at least 1.
///
/// ```swift
/// let s: Shape = [2, 3]
/// s.count        // 6
/// s.strides      // [3, 1]
/// Shape.broadcast([2, 1], [3])   // [2, 3]
/// ```
public struct Shape: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The largest supported rank.
    public static let maxRank = 4

    /// The shape of a scalar (rank 0).
    public static let scalar = Shape([])

    /// The extent of each axis, outermost first.
    public let dimensions: [Int]

    /// Creates a shape from its dimensions. Validity (rank, positive
    /// dimensions) is checked where shapes enter a graph, not here.
    public init(_ dimensions: [Int]) { self.dimensions = dimensions }

    public init(arrayLiteral elements: Int...) { self.dimensions = elements }

    /// The number of axes.
    public var rank: Int { dimensions.count }

    /// The number of elements: the product of the dimensions (1 for a scalar).
    ///
    /// A plain loop, not `reduce(1, *)`: unoptimised builds call the generic
    /// `reduce` with a heap-allocated closure context, and executions ask
    /// for counts on paths that must not allocate.
    public var count: Int {
        var product = 1
        for axis in dimensions.indices { product *= dimensions[axis] }
        return product
    }

    /// Whether this is the shape of a scalar.
    public var isScalar: Bool { dimensions.isEmpty }

    /// The extent of axis `axis`.
    public subscript(axis: Int) -> Int { dimensions[axis] }

    /// Row-major strides, in elements.
    public var strides: [Int] {
        var result = [Int](repeating: 1, count: rank)
        var step = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            result[axis] = step
            step *= dimensions[axis]
        }
        return result
    }

    public var description: String {
        "[" + dimensions.map(String.init).joined(separator: ", ") + "]"
    }

    /// The element count, or `nil` when it overflows `Int`.
    public var checkedCount: Int? {
        var total = 1
        for d in dimensions {
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            total = product
        }
        return total
    }

    /// Why the shape cannot be a tensor's, or `nil` when it can.
    var validationProblem: String? {
        if rank > Shape.maxRank {
            return "rank \(rank) exceeds the maximum rank \(Shape.maxRank)"
        }
        if let bad = dimensions.first(where: { $0 < 1 }) {
            return "dimension \(bad) in \(self) is not positive"
        }
        if checkedCount == nil { return "shape \(self) has more elements than fit in Int" }
        return nil
    }

    /// Maps a possibly negative axis (Python style, `-1` is the last) into
    /// `0..<rank`, or returns `nil` when it is out of range.
    public func normalizedAxis(_ axis: Int) -> Int? {
        let a = axis < 0 ? axis + rank : axis
        return (0..<rank).contains(a) ? a : nil
    }

    /// The NumPy broadcast of two shapes: align trailing axes; each pair of
    /// extents must be equal or one of them 1. Returns `nil` when they are
    /// incompatible.
    ///
    /// - Complexity: O(rank).
    public static func broadcast(_ a: Shape, _ b: Shape) -> Shape? {
        let rank = Swift.max(a.rank, b.rank)
        var dims = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.rank ? 1 : a.dimensions[i - (rank - a.rank)]
            let db = i < rank - b.rank ? 1 : b.dimensions[i - (rank - b.rank)]
            if da == db || db == 1 {
                dims[i] = da
            } else if da == 1 {
                dims[i] = db
            } else {
                return nil
            }
        }
        return Shape(dims)
    }

    /// The strides with which an array of this shape is read when it is
    /// broadcast to `target`: aligned to `target`'s rank, 0 on broadcast axes.
    /// `target` must be a broadcast of this shape.
    func broadcastStrides(to target: Shape) -> [Int] {
        let own = strides
        let offset = target.rank - rank
        var result = [Int](repeating: 0, count: target.rank)
        for axis in 0..<rank where dimensions[axis] != 1 {
            result[axis + offset] = own[axis]
        }
        return result
    }
}

/// For every position of `shape`, in row-major order, the offset
/// `base + Σ index[d] · strides[d]`.
///
/// This one helper expresses broadcasting (strides 0 on broadcast axes),
/// reduction (output strides, 0 on reduced axes), transposition (permuted
/// strides), slicing and concatenation (a base offset).
///
/// - Complexity: O(shape.count).
func stridedOffsets(over shape: Shape, strides: [Int], base: Int = 0) -> [Int] {
    precondition(strides.count == shape.rank)
    let count = shape.count
    var result = [Int](repeating: base, count: count)
    if shape.rank == 0 { return result }
    var index = [Int](repeating: 0, count: shape.rank)
    var offset = base
    let last = shape.rank - 1
    for k in 0..<count {
        result[k] = offset
        // Advance the multi-index like an odometer.
        var axis = last
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < shape.dimensions[axis] { break }
            offset -= strides[axis] * index[axis]
            index[axis] = 0
            axis -= 1
        }
    }
    return result
}
