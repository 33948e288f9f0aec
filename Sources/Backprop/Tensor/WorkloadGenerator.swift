/// The package's one pseudo-random generator: the one every implementation
/// of the benchmark workloads uses, so that all of them build the same
/// graphs (`BackpropWorkloads`, the peer scripts); ``Model/mlp(layers:activation:seed:)``
/// draws its initial weights from it, and the test suites their data.
///
/// A 64-bit linear congruential generator (Knuth's MMIX constants):
///
/// ```
/// s ← s · 6364136223846793005 + 1442695040888963407   (mod 2^64)
/// draw64: advance, return (s >> 33) & 63
/// unit:   advance, return Double(s >> 11) · 2^-53
/// ```
///
/// Every draw advances the state exactly once, so a stream is fixed by its
/// seed and the sequence of calls:
///
/// ```swift
/// var g = WorkloadGenerator(seed: 42)
/// let a = g.draw64()            // an integer in 0...63
/// let u = g.unit()              // a Double in [0, 1)
/// let v = g.uniform(-1, 1)      // a Double in [-1, 1)
/// let k = g.int(10)             // an integer in 0..<10
/// ```
///
/// Its low bits are weak (bit k has period 2^(k+1)); the draws use the high
/// ones. Not for anything that needs unpredictability.
public struct WorkloadGenerator: Sendable {
    /// The state: the last value of the recurrence (the seed before the
    /// first draw).
    public var state: UInt64

    /// A generator seeded with `seed`.
    public init(seed: UInt64) { state = seed }

    /// Advances the state once and returns it (all 64 bits).
    @inlinable
    public mutating func advance() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }

    /// An integer in 0…63: bits 33–38 of the next state.
    @inlinable
    public mutating func draw64() -> Int { Int((advance() >> 33) & 63) }

    /// A Double in [0, 1): the top 53 bits of the next state, times 2⁻⁵³.
    @inlinable
    public mutating func unit() -> Double { Double(advance() >> 11) * 0x1p-53 }

    /// A Double in [`lo`, `hi`): `lo + (hi − lo) · unit()`.
    @inlinable
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * unit()
    }

    /// An integer in `0..<n`: the top 31 bits of the next state, modulo `n`
    /// (`int(64)` draws as ``draw64()`` does). Slightly biased unless `n`
    /// is a power of two; fine for test data and workloads.
    ///
    /// - Precondition: `n` ≥ 1.
    @inlinable
    public mutating func int(_ n: Int) -> Int { Int((advance() >> 33) % UInt64(n)) }
}
