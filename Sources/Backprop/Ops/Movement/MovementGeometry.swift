// The geometry of the movement ops' ranged kernels (MovementKernels.swift),
// computed once by the plan.

/// out[e] = x[base + Σ index(e)·strides] over the output's dimensions.
struct Gather: Sendable {
    let out: Dims4
    let strides: SIMD4<Int>
    let base: Int
}

/// Concatenation along one axis, viewed as `[outer, axis, inner]`.
struct ConcatGeometry: Sendable {
    /// Elements after the axis (the product of the trailing extents).
    let inner: Int
    /// The output's extent along the axis.
    let extent: Int
    /// Where each input starts along the axis, and its extent there.
    let starts: [Int]
    let extents: [Int]
}
