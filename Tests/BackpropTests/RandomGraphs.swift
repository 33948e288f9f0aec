import Backprop
import BackpropWorkloads

/// Random DAGs for the runtime tests: scalar or tensor nodes, fan-out,
/// shared parameters, broadcasting, matmul, reductions, movement and losses.
/// Values stay in safe domains (log and sqrt of x² + 1, division by x² + 1).
struct RandomGraph {
    var rng: WorkloadGenerator

    init(seed: UInt64) { rng = WorkloadGenerator(seed: seed) }

    mutating func pick<C: Collection>(_ c: C) -> C.Element where C.Index == Int {
        c[c.startIndex + rng.int(c.count)]
    }

    /// A scalar graph of about `nodes` nodes (the S1 shape: unary and binary ops on scalars).
    mutating func scalar<T: TensorElement>(_: T.Type, nodes: Int, inputs: Int = 8) throws -> Graph<
        T
    > {
        let b = GraphBuilder<T>()
        var pool = (0..<inputs).map { b.input("x\($0)", Tensor(T(rng.uniform(-1, 1)))) }
        var used = Set<Int>()
        while b.nodeCount < nodes {
            let ia = pool.count - 1 - rng.int(Swift.min(pool.count, 16))
            let ib = rng.int(pool.count)
            used.insert(pool[ia].id)
            used.insert(pool[ib].id)
            let a = pool[ia], c = pool[ib]
            let next: Node<T>
            switch rng.int(8) {
            case 0: next = tanh(a + c)
            case 1: next = a * c
            case 2: next = sin(a)
            case 3: next = a - c
            case 4: next = a / (c * c + 1)
            case 5: next = sigmoid(a)
            case 6: next = log(a * a + 1)
            default: next = a.relu() + c
            }
            pool.append(next)
        }
        let sinks = pool.filter { !used.contains($0.id) }
        let out = sinks.dropFirst().reduce(sinks[0]) { $0 + $1 }
        return try b.build(output: out)
    }

    /// A tensor graph with `steps` random op applications.
    mutating func tensor<T: TensorElement>(_: T.Type, steps: Int) throws -> Graph<T> {
        let b = GraphBuilder<T>()
        let shapes: [Shape] = [[], [4], [3, 4], [2, 3, 4], [3, 1]]
        var pool: [(Node<T>, Shape)] = []
        for (k, s) in shapes.enumerated() {
            pool.append((b.input("x\(k)", .random(s, &rng)), s))
        }
        let w = b.parameter("W", .random([4, 5], &rng))
        let v = b.parameter("v", .random([4], &rng))
        pool.append((w, [4, 5]))
        pool.append((v, [4]))
        var consumed = Set<Int>()
        func take(_ i: Int) -> (Node<T>, Shape) {
            consumed.insert(pool[i].0.id)
            return pool[i]
        }
        for _ in 0..<steps {
            let (a, sa) = take(rng.int(pool.count))
            var result: (Node<T>, Shape)?
            switch rng.int(14) {
            case 0:
                let f = pick([UnaryFunction.tanh, .sin, .cos, .sigmoid, .relu, .neg, .abs])
                result = (b.apply(.unary(f), [a]), sa)
            case 1: result = (log(a * a + 1) + sqrt(a * a + 1), sa)
            case 2, 3:
                let candidates = pool.indices.filter { Shape.broadcast(sa, pool[$0].1) != nil }
                let (c, sc) = take(pick(candidates))
                let out = Shape.broadcast(sa, sc)!
                switch rng.int(4) {
                case 0: result = (a + c, out)
                case 1: result = (a - c, out)
                case 2: result = (a * c, out)
                default: result = (a / (c * c + 1), out)
                }
            case 4:
                if sa.rank == 2 && sa[1] == 4 { result = (a.matmul(w), [sa[0], 5]) }
                if sa == [2, 3, 4] { result = (tanh(a.matmul(w)), [2, 3, 5]) }
                if sa == [4] { result = (a * v, [4]) }  // v shared: the contention case
            case 5:
                if sa.rank > 0 {
                    let axis = rng.int(sa.rank)
                    var dims = sa.dimensions
                    let keep = rng.int(2) == 0
                    if keep { dims[axis] = 1 } else { dims.remove(at: axis) }
                    let r = pick([Reduction.sum, .mean, .max])
                    result = (b.apply(.reduce(r, axes: [axis], keepDims: keep), [a]), Shape(dims))
                }
            case 6: result = (a.reshaped([-1]), [sa.count])
            case 7:
                if sa.rank >= 2 {
                    var dims = sa.dimensions
                    dims.swapAt(sa.rank - 1, sa.rank - 2)
                    result = (a.transposed(), Shape(dims))
                }
            case 8:
                if sa.rank >= 1 && sa[sa.rank - 1] >= 2 {
                    var dims = sa.dimensions
                    dims[sa.rank - 1] -= 1
                    result = (a.slice(axis: -1, 1..<sa[sa.rank - 1]), Shape(dims))
                }
            case 9:
                if sa.rank >= 1 {
                    var dims = sa.dimensions
                    dims[0] *= 2
                    result = (concat([a, a * 2], axis: 0), Shape(dims))
                }
            case 10:
                if sa.rank >= 1 { result = (rng.int(2) == 0 ? a.softmax() : a.logSoftmax(), sa) }
            case 11:
                if sa.rank >= 1 {
                    let classes = sa[sa.rank - 1]
                    let labelShape = Shape(Array(sa.dimensions.dropLast()))
                    let labels = (0..<labelShape.count).map { _ in T(rng.int(classes)) }
                    let l = b.constant(try Tensor(shape: labelShape, scalars: labels))
                    result = (crossEntropy(logits: a, labels: l), labelShape)
                }
            case 12:
                let t = b.constant(.random(sa, &rng, 0, 1))
                result = (sigmoidCrossEntropy(logits: a, targets: t), sa)
            default:
                if sa == [] { result = (a.broadcast(to: [3, 4]), [3, 4]) }
                if sa == [3, 1] { result = (a.broadcast(to: [3, 4]) + pool[2].0, [3, 4]) }
            }
            if let result { pool.append(result) }
        }
        let sinks = pool.filter { !consumed.contains($0.0.id) }.map { $0.0.sum() }
        let out = sinks.dropFirst().reduce(sinks[0]) { $0 + $1 }
        return try b.build(output: out)
    }
}
