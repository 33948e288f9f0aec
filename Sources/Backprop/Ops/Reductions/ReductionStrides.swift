/// A reduction over some axes of a rank ≤ 4 input, padded to rank 4: the
/// ranged kernels' form of a ``ReductionGeometry``.
struct ReductionStrides: Sendable {
    let input: Dims4
    /// The input's shape with reduced axes set to 1 (the output, padded).
    let kept: Dims4
    /// 1 on kept axes, the input's extent on reduced axes.
    let reduced: Dims4
    let inputStrides: SIMD4<Int>
    /// For each input position, the stride of its output element (0 on reduced axes).
    let outputStrides: SIMD4<Int>
    let reducedCount: Int
}
