/// How far a graph's analytic gradients are from central finite differences.
public struct GradientCheckReport: Sendable, CustomStringConvertible {
    /// The comparison for one input or parameter.
    public struct Entry: Sendable, Equatable {
        /// The input's name.
        public let input: String
        /// max over elements of |analytic − numeric|.
        public let maxAbsoluteError: Double
        /// max over elements of |analytic − numeric| / max(|analytic|, |numeric|, 1):
        /// relative for gradients above 1 in magnitude, absolute below.
        public let maxRelativeError: Double
        /// The flattened index of the element with the largest relative error.
        public let worstElement: Int
    }

    /// One entry per checked input and parameter, in id order.
    public let entries: [Entry]

    /// The largest relative error over all inputs (0 when there are none,
    /// NaN when any comparison was NaN).
    public var maxRelativeError: Double {
        entries.reduce(0) {
            $0.isNaN || $1.maxRelativeError.isNaN ? .nan : Swift.max($0, $1.maxRelativeError)
        }
    }

    /// Whether every relative error is at most `tolerance` (NaN never passes).
    public func passes(tolerance: Double) -> Bool { maxRelativeError <= tolerance }

    public var description: String {
        entries.map {
            "\($0.input): max abs error \($0.maxAbsoluteError), max rel error \($0.maxRelativeError) (element \($0.worstElement))"
        }.joined(separator: "\n")
    }
}

/// Compares the reference executor's gradients with central finite
/// differences computed in Double.
///
/// For every element x_k of every input and parameter, the numeric
/// derivative is `(ω(x + h·e_k) − ω(x − h·e_k)) / 2h` with
/// `h = epsilon · max(1, |x_k|)`, evaluated on a `Double` copy of the graph
/// (so a `Float` graph is checked against a more precise reference). The
/// analytic gradient comes from the graph's own element type. Inputs used
/// only as `cross_entropy` labels are skipped: they hold class indices, are
/// not differentiable, and a shifted label is no label at all.
///
/// ```swift
/// let report = try checkGradients(graph)
/// #expect(report.passes(tolerance: 1e-6))
/// ```
///
/// - Parameters:
///   - graph: A graph with a scalar output.
///   - inputs: Values replacing input defaults, by name.
///   - epsilon: The relative step.
/// - Returns: Per input, the largest absolute and relative error.
/// - Throws: What ``ReferenceExecutor/gradients(_:inputs:order:allNodes:)``
///   throws, and ``GraphError/typeMismatch(node:message:)`` when a custom op
///   has no `Double` implementation.
/// - Complexity: 2 forward passes per input element, plus one backward pass.
@_specialize(exported:true,where T == Float)
@_specialize(exported:true,where T == Double)
public func checkGradients<T>(
    _ graph: Graph<T>, inputs: [String: Tensor<T>] = [:], epsilon: Double = 1e-6
) throws -> GradientCheckReport {
    let executor = ReferenceExecutor()
    let analytic = try executor.gradients(graph, inputs: inputs)
    let reference = try graph.converted(to: Double.self)
    var feeds = inputs.mapValues { $0.converted(to: Double.self) }
    for i in graph.inputs where feeds[graph.name(of: i)] == nil && graph.outputDepends(on: i) {
        guard let value = graph.value(of: i) else {
            throw GraphError.missingValue(node: graph.name(of: i))
        }
        feeds[graph.name(of: i)] = value.converted(to: Double.self)
    }
    var entries: [GradientCheckReport.Entry] = []
    for i in graph.inputs where graph.outputDepends(on: i) && !graph.isUsedOnlyAsLabels(i) {
        let name = graph.name(of: i)
        let base = feeds[name]!
        let gradient = analytic.gradients[name]!
        var worst = (abs: 0.0, rel: 0.0, index: 0)
        for k in 0..<base.count {
            let h = epsilon * Swift.max(1, Swift.abs(base.scalars[k]))
            func value(at x: Double) throws -> Double {
                var shifted = base
                shifted.scalars[k] = x
                feeds[name] = shifted
                return try executor.forward(reference, inputs: feeds).output.scalars[0]
            }
            let numeric =
                try (value(at: base.scalars[k] + h) - value(at: base.scalars[k] - h)) / (2 * h)
            let a = Double(gradient.scalars[k])
            let absError = Swift.abs(a - numeric)
            let relError = absError / Swift.max(Swift.abs(a), Swift.abs(numeric), 1)
            worst.abs = absError.isNaN || worst.abs.isNaN ? .nan : Swift.max(worst.abs, absError)
            if (relError > worst.rel || relError.isNaN) && !worst.rel.isNaN {
                worst = (worst.abs, relError, k)
            }
        }
        feeds[name] = base
        entries.append(
            .init(
                input: name, maxAbsoluteError: worst.abs, maxRelativeError: worst.rel,
                worstElement: worst.index))
    }
    return GradientCheckReport(entries: entries)
}

extension Graph {
    /// Whether every use of the node is as the labels of a `cross_entropy`.
    func isUsedOnlyAsLabels(_ node: NodeID) -> Bool {
        let uses = children(of: node).filter { outputDepends(on: $0) }
        return !uses.isEmpty
            && uses.allSatisfy {
                if case .loss(.crossEntropy) = op(of: $0) {
                    parents(of: $0).first != node
                } else {
                    false
                }
            }
    }
}
