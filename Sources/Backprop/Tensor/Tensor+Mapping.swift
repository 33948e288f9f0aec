// Plain, portable kernels the op catalog is written with. They favour
// clarity: the reference executor runs on them and the fast runtime is
// tested against it.

extension Tensor {
    /// A tensor of the same shape with `f` applied to every element.
    @inlinable
    public func map(_ f: (Element) -> Element) -> Tensor {
        Tensor(uncheckedShape: shape, scalars: scalars.map(f))
    }

    /// Combines two tensors of the same shape elementwise.
    ///
    /// - Precondition: `other.shape == shape`.
    @inlinable
    public func zipMap(_ other: Tensor, _ f: (Element, Element) -> Element) -> Tensor {
        precondition(shape == other.shape, "zipMap needs equal shapes")
        var out = [Element](repeating: 0, count: count)
        for k in 0..<count { out[k] = f(scalars[k], other.scalars[k]) }
        return Tensor(uncheckedShape: shape, scalars: out)
    }

    /// Combines two tensors with NumPy broadcasting into `outShape`.
    func broadcastZip(
        _ other: Tensor, to outShape: Shape, _ f: (Element, Element) -> Element
    ) -> Tensor {
        if shape == outShape && other.shape == outShape { return zipMap(other, f) }
        let a = stridedOffsets(over: outShape, strides: shape.broadcastStrides(to: outShape))
        let b = stridedOffsets(over: outShape, strides: other.shape.broadcastStrides(to: outShape))
        var out = [Element](repeating: 0, count: outShape.count)
        for k in 0..<out.count { out[k] = f(scalars[a[k]], other.scalars[b[k]]) }
        return Tensor(uncheckedShape: outShape, scalars: out)
    }

    /// This tensor broadcast to `target` (a broadcast of its shape).
    func broadcast(to target: Shape) -> Tensor {
        if shape == target { return self }
        let offsets = stridedOffsets(over: target, strides: shape.broadcastStrides(to: target))
        return Tensor(uncheckedShape: target, scalars: offsets.map { scalars[$0] })
    }

    /// The transpose of ``broadcast(to:)``: sums over the axes along which
    /// `target` was broadcast to produce this tensor's shape.
    func sum(toShape target: Shape) -> Tensor {
        if shape == target { return self }
        let offsets = stridedOffsets(over: shape, strides: target.broadcastStrides(to: shape))
        var out = [Element](repeating: 0, count: target.count)
        for k in 0..<count { out[offsets[k]] += scalars[k] }
        return Tensor(uncheckedShape: target, scalars: out)
    }

    /// The same elements under another shape of equal count.
    func reshapedUnchecked(_ newShape: Shape) -> Tensor {
        Tensor(uncheckedShape: newShape, scalars: scalars)
    }
}
