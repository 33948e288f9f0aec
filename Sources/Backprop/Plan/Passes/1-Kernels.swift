// Pass 1: what each node of the output cone computes, level by level, and
// which nodes need a gradient.

extension PlanBuilder {
    /// Compiles every node the output depends on to a ``NodeKernel`` (its
    /// op with its shapes' geometry; `.leaf` outside the cone), and groups
    /// the nodes that compute something by level.
    mutating func compileKernels() {
        kernels = (0..<graph.count).map { i in
            cone[i]
                ? NodeKernel(
                    graph.op(of: i), inputs: graph.parents(of: i).map { graph.shape(of: $0) },
                    output: graph.shape(of: i))
                : .leaf
        }
        for l in 1..<Swift.max(1, graph.levelCount) {
            let nodes = graph.nodes(inLevel: l).filter { cone[$0] && !graph.op(of: $0).isLeaf }
            if !nodes.isEmpty { levels.append(nodes) }
        }
        statistics.levels = levels.count
    }

    /// Marks the nodes that need a gradient: those on a path from an input
    /// or parameter (from a parameter only, in a training plan: inputs are
    /// data) through arguments that carry a gradient.
    mutating func markGradientRequirement() {
        requiresGradient = [Bool](repeating: false, count: graph.count)
        guard options.computesGradients else { return }
        for i in graph.topologicalOrder where cone[i] {
            if options.differentiates(graph.op(of: i)) {
                requiresGradient[i] = true
            } else {
                for (k, p) in graph.parents(of: i).enumerated()
                where requiresGradient[p] && kernels[i].hasGradient(slot: k) {
                    requiresGradient[i] = true
                }
            }
        }
    }
}
