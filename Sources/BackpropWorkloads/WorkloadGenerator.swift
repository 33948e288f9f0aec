/// The one generator every implementation of the benchmark workloads uses,
/// so that all of them build the same graphs (workloads notes):
///
/// ```
/// s ← s · 6364136223846793005 + 1442695040888963407   (mod 2^64)
/// draw64: advance, return (s >> 33) & 63
/// unit:   advance, return Double(s >> 11) · 2^-53
/// ```
public struct WorkloadGenerator: Sendable {
    /// The state.
    public var state: UInt64

    /// A generator seeded with `seed`.
    public init(seed: UInt64) { state = seed }

    /// Advances the state.
    @inlinable
    public mutating func advance() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }

    /// An integer in 0…63.
    @inlinable
    public mutating func draw64() -> Int { Int((advance() >> 33) & 63) }

    /// A Double in [0, 1).
    @inlinable
    public mutating func unit() -> Double { Double(advance() >> 11) * 0x1p-53 }
}
