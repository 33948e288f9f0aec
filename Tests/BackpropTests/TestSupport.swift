import Backprop
import BackpropWorkloads

extension Tensor {
    /// Uniform elements in [lo, hi), away from 0 by at least `gap` in magnitude.
    static func random(
        _ shape: Shape, _ rng: inout WorkloadGenerator, _ lo: Double = -1, _ hi: Double = 1,
        gap: Double = 0
    ) -> Tensor {
        let scalars = (0..<shape.count).map { _ -> Element in
            var v = rng.uniform(lo, hi)
            while Swift.abs(v) < gap { v = rng.uniform(lo, hi) }
            return Element(v)
        }
        return try! Tensor(shape: shape, scalars: scalars)
    }
}

/// The gradient as a plain Double, for scalar inputs.
func scalarGradient<T>(_ r: GradientResult<T>, _ name: String) -> Double? {
    r.gradients[name].flatMap(\.scalar).map(Double.init)
}

/// Tolerances per element type for comparisons against Double references.
func tolerance<T: TensorElement>(_: T.Type) -> Double { T.self == Double.self ? 1e-6 : 2e-3 }

/// A value handed to other threads under a guarantee the compiler cannot
/// check (stated where it is used).
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
