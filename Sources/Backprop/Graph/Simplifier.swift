// Note [Simplification]
// Some compositions overflow or lose all precision although their value is
// tame: log(exp(2x³ + 10)) at x = 42 needs exp(148186), which is +inf in
// Double, so the plain chain rule gives (1/inf)·inf = 0·inf = NaN, while the function is
// just 2x³ + 10 with derivative 6x² = 10584. The simplifier rewrites such
// compositions into equal, stable forms once, when the graph is built.
// Every rule is an identity on the reals wherever the original is defined,
// so it changes no result that was representable; it only removes overflow
// and cancellation. Rewrites keep node ids: the rewritten node changes its
// op and parents in place (new helper nodes are appended), so handles held
// by the caller still name the same values. Nodes bypassed by a rewrite stay
// in the graph; unless another node in the output's cone still uses them,
// they leave the cone and no pass evaluates them.

/// A rewrite the simplifier applied to a node.
public struct Rewrite: Sendable, Equatable, CustomStringConvertible {
    /// The rewritten node's name.
    public let node: String
    /// The rule that fired.
    public let rule: RewriteRule

    public var description: String { "\(node): \(rule.rawValue)" }
}

/// The simplifier's rules. Each is an exact identity; see `docs/ops.md`.
public enum RewriteRule: String, Sendable, CaseIterable {
    /// log(exp(u)) → u.
    case logOfExp = "log(exp(u)) -> u"
    /// −(−u) → u.
    case negOfNeg = "neg(neg(u)) -> u"
    /// log(softmax(u)) → log_softmax(u).
    case logOfSoftmax = "log(softmax(u)) -> log_softmax(u)"
    /// log(σ(u)) → −softplus(−u), computed as −sigmoid_cross_entropy(u, 1).
    case logOfSigmoid = "log(sigmoid(u)) -> -sigmoid_cross_entropy(u, 1)"
    /// log(1 + exp(u)) → softplus(u), computed as sigmoid_cross_entropy(u, 0).
    case softplus = "log(1 + exp(u)) -> sigmoid_cross_entropy(u, 0)"
}

enum Simplifier {
    /// Applies the rules to every node in topological order (so inner
    /// compositions are rewritten before the ones that contain them) and
    /// returns what it did. Appends helper nodes to the table when a rule
    /// needs them, with their shapes.
    static func run<T: TensorElement>(
        _ t: inout NodeTable<T>, _ shapes: inout [Shape], order: [NodeID]
    ) -> [Rewrite] {
        var rewrites: [Rewrite] = []
        func only(_ i: NodeID) -> NodeID? {
            let p = t.parents(i)
            return p.count == 1 ? p.first : nil
        }
        func constant(_ value: T) -> NodeID {
            shapes.append(.scalar)
            return t.append(name: nil, op: .constant, parents: [], value: Tensor(value))
        }
        func isOnes(_ i: NodeID, within shape: Shape) -> Bool {
            guard case .constant = t.ops[i], let v = t.values[i] else { return false }
            return v.scalars.allSatisfy { $0 == 1 } && Shape.broadcast(v.shape, shape) == shape
        }
        for i in order {
            guard case .unary(let f) = t.ops[i], let u0 = only(i) else { continue }
            var rule: RewriteRule?
            switch (f, t.ops[u0]) {
            case (.log, .unary(.exp)):
                t.ops[i] = .identity
                t.replaceParents(of: i, with: [only(u0)!])
                rule = .logOfExp
            case (.neg, .unary(.neg)):
                t.ops[i] = .identity
                t.replaceParents(of: i, with: [only(u0)!])
                rule = .negOfNeg
            case (.log, .loss(.softmax(let axis))):
                t.ops[i] = .loss(.logSoftmax(axis: axis))
                t.replaceParents(of: i, with: [only(u0)!])
                rule = .logOfSoftmax
            case (.log, .unary(.sigmoid)):
                let u = only(u0)!
                let loss = t.append(
                    name: nil, op: .loss(.sigmoidCrossEntropy), parents: [u, constant(1)])
                shapes.append(shapes[u])
                t.ops[i] = .unary(.neg)
                t.replaceParents(of: i, with: [loss])
                rule = .logOfSigmoid
            case (.log, .binary(.add)):
                let terms = Array(t.parents(u0))
                guard
                    let k = terms.firstIndex(where: {
                        if case .unary(.exp) = t.ops[$0] { true } else { false }
                    }),
                    let u = only(terms[k]), shapes[u] == shapes[i],
                    isOnes(terms[1 - k], within: shapes[u])
                else { continue }
                let softplus = t.append(
                    name: nil, op: .loss(.sigmoidCrossEntropy), parents: [u, constant(0)])
                shapes.append(shapes[u])
                t.ops[i] = .identity
                t.replaceParents(of: i, with: [softplus])
                rule = .softplus
            default:
                continue
            }
            if let rule {
                // The name as it was before the rewrite changed the op.
                rewrites.append(Rewrite(node: t.names[i] ?? "\(f.kind.rawValue)#\(i)", rule: rule))
            }
        }
        return rewrites
    }
}
