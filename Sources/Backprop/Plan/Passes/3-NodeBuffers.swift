// Pass 3: a buffer for each node's value, gradient and scratch, and the
// cotangent's (Note [Memory reuse] says which are permanent). Later passes
// add the partial buffers and optimizer state they need.

extension PlanBuilder {
    /// Gives every node in the cone a value buffer (leaves a permanent
    /// one; a node computed in place its chain parent's), every node that
    /// needs a gradient a gradient buffer, every kernel with scratch an aux
    /// buffer; then the cotangent's buffer.
    mutating func allocateNodeBuffers() {
        for i in 0..<graph.count {
            let op = graph.op(of: i)
            let count = graph.shape(of: i).count
            if op.isLeaf && (cone[i] || op.isDifferentiableLeaf) {
                nodeBuffers.value[i] = buffers.newBuffer(count, .parameter, permanent: true)
                leaves.append(i)
            } else if cone[i] && fusion.inPlace[i] == nil {
                nodeBuffers.value[i] = buffers.newBuffer(
                    count, .value, permanent: i == graph.output)
            }
            if requiresGradient[i] && fusion.gradientInPlace[i] == nil {
                nodeBuffers.gradient[i] = buffers.newBuffer(
                    count, .gradient, permanent: op.isDifferentiableLeaf)
            }
            if cone[i] && kernels[i].needsAux {
                nodeBuffers.aux[i] = buffers.newBuffer(count, .partial)
            }
        }
        // In-place chains (Note [In-place chains]): a node takes over its
        // chain parent's buffer, which may itself be taken over.
        for i in graph.topologicalOrder {
            if let p = fusion.inPlace[i] { nodeBuffers.value[i] = nodeBuffers.value[p] }
        }
        // In-place gradients (Note [In-place gradients]): a node's gradient
        // is its unary consumer's buffer, which may itself be another's.
        for i in graph.topologicalOrder.reversed() {
            if let k = fusion.gradientInPlace[i] {
                nodeBuffers.gradient[i] = nodeBuffers.gradient[k]
            }
        }
        nodeBuffers.cotangent = buffers.newBuffer(
            graph.shape(of: graph.output).count, .parameter, permanent: true)
    }
}
