import Foundation

/// The element type of a graph: `float32` (`Float`) or `float64` (`Double`).
///
/// Every graph has exactly one element type. The name is the one used by the
/// graph file format (`"dtype": "float64"`).
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    /// 32-bit IEEE 754 binary floating point (`Float`).
    case float32
    /// 64-bit IEEE 754 binary floating point (`Double`).
    case float64

    /// The lower-case name, as in graph files.
    public var description: String { rawValue }
}

/// A floating-point type that tensors and graphs can hold: `Float` or `Double`.
///
/// The protocol collects the elementary functions the op kernels need, so that
/// kernels are written once, generically, and specialised by the compiler for
/// each element type.
public protocol TensorElement: BinaryFloatingPoint, Sendable, Codable, BitwiseCopyable,
    LosslessStringConvertible
where RawSignificand: FixedWidthInteger {
    /// The graph-file name of this type.
    static var dtype: DType { get }
    /// e^x.
    static func exp(_ x: Self) -> Self
    /// The natural logarithm.
    static func log(_ x: Self) -> Self
    /// log(1 + x), accurate for small x.
    static func log1p(_ x: Self) -> Self
    /// The hyperbolic tangent.
    static func tanh(_ x: Self) -> Self
    /// The sine (radians).
    static func sin(_ x: Self) -> Self
    /// The cosine (radians).
    static func cos(_ x: Self) -> Self
    /// x raised to the power y.
    static func pow(_ x: Self, _ y: Self) -> Self
}

extension Double: TensorElement {
    public static var dtype: DType { .float64 }
    @inlinable public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    @inlinable public static func log(_ x: Double) -> Double { Foundation.log(x) }
    @inlinable public static func log1p(_ x: Double) -> Double { Foundation.log1p(x) }
    @inlinable public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    @inlinable public static func sin(_ x: Double) -> Double { Foundation.sin(x) }
    @inlinable public static func cos(_ x: Double) -> Double { Foundation.cos(x) }
    @inlinable public static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
}

extension Float: TensorElement {
    public static var dtype: DType { .float32 }
    @inlinable public static func exp(_ x: Float) -> Float { Foundation.exp(x) }
    @inlinable public static func log(_ x: Float) -> Float { Foundation.log(x) }
    @inlinable public static func log1p(_ x: Float) -> Float { Foundation.log1p(x) }
    @inlinable public static func tanh(_ x: Float) -> Float { Foundation.tanh(x) }
    @inlinable public static func sin(_ x: Float) -> Float { Foundation.sin(x) }
    @inlinable public static func cos(_ x: Float) -> Float { Foundation.cos(x) }
    @inlinable public static func pow(_ x: Float, _ y: Float) -> Float { Foundation.pow(x, y) }
}
