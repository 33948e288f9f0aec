import Backprop

/// The workloads' generator (shared/workloads.md): a 64-bit LCG.
struct LCG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
    /// A Double in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    /// A Double in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }
    /// An integer in 0..<n.
    mutating func int(_ n: Int) -> Int { Int((next() >> 33) % UInt64(n)) }
}

extension Tensor {
    /// Uniform elements in [lo, hi), away from 0 by at least `gap` in magnitude.
    static func random(
        _ shape: Shape, _ rng: inout LCG, _ lo: Double = -1, _ hi: Double = 1, gap: Double = 0
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
