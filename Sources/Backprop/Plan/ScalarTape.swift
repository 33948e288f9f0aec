// Note [Scalar tape]
// A graph whose nodes are all scalars (the lecture's computation graphs, S1)
// gains nothing from levels and chunks: each node is a few nanoseconds of
// work, less than any hand-off between threads. Such graphs lower to a flat
// struct-of-arrays tape — an opcode, two operand positions and a constant
// per node, values and adjoints in two dense arrays — run forward in
// topological order and backward in reverse, accumulating adjoints with +=
// (the push form of z_i = Σ_j z_j ∂f_j/∂x_i). No per-node dispatch beyond
// one switch on a byte, no boxing, no allocation. It runs on the calling
// thread, so its bits do not depend on the thread count.

/// A scalar graph lowered to a tape. Positions index the values region
/// (`0..<count`) and the adjoints region (`count..<2·count`) of the arena.
struct ScalarTape: Sendable {
    enum Code: UInt8, Sendable {
        /// `max` over a scalar: the value itself; the gradient flows unless it is NaN.
        case maxOfOne
        case leaf, copy, neg, exp, log, sqrt, pow, tanh, sigmoid, relu, sin, cos, abs
        case add, sub, mul, div, sigmoidCrossEntropy
    }

    let count: Int
    let codes: FrozenArray<Code>
    let a: FrozenArray<Int32>
    let b: FrozenArray<Int32>
    /// pow's exponent.
    let constant: FrozenArray<Double>
    /// Positions of the nodes to evaluate, in order (non-leaves).
    let output: Int

    /// Lowers the graph, or returns `nil` when a node the output depends on
    /// is not a scalar or has no tape code (custom ops).
    init?<T>(_ graph: Graph<T>, positions: [Int]) {
        var codes: [Code] = [], a: [Int32] = [], b: [Int32] = [], constant: [Double] = []
        let order = positions.enumerated().filter { $0.element >= 0 }.sorted {
            $0.element < $1.element
        }.map(\.offset)
        for i in order {
            guard graph.shape(of: i).isScalar else { return nil }
            let parents = graph.parents(of: i).map { Int32(positions[$0]) }
            var c = 0.0
            let code: Code
            switch graph.op(of: i) {
            case .input, .parameter, .constant: code = .leaf
            case .reduce(.max, _, _): code = .maxOfOne
            case .identity, .reduce, .movement(.reshape), .movement(.broadcast),
                .movement(.transpose):
                code = .copy
            case .unary(let f):
                switch f {
                case .neg: code = .neg
                case .exp: code = .exp
                case .log: code = .log
                case .sqrt: code = .sqrt
                case .pow(let p):
                    code = .pow
                    c = p
                case .tanh: code = .tanh
                case .sigmoid: code = .sigmoid
                case .relu: code = .relu
                case .sin: code = .sin
                case .cos: code = .cos
                case .abs: code = .abs
                }
            case .binary(let f):
                switch f {
                case .add: code = .add
                case .sub: code = .sub
                case .mul: code = .mul
                case .div: code = .div
                }
            case .loss(.sigmoidCrossEntropy): code = .sigmoidCrossEntropy
            case .matmul, .movement(.slice), .movement(.concat), .loss(.softmax),
                .loss(.logSoftmax), .loss(.crossEntropy), .custom:
                return nil
            }
            codes.append(code)
            a.append(parents.first ?? 0)
            b.append(parents.count > 1 ? parents[1] : 0)
            constant.append(c)
        }
        count = codes.count
        self.codes = FrozenArray(codes)
        self.a = FrozenArray(a)
        self.b = FrozenArray(b)
        self.constant = FrozenArray(constant)
        output = positions[graph.output]
    }

    /// Evaluates every node: `v[i] = f_i(v[a[i]], v[b[i]])`, with the
    /// catalog's own `@inlinable` rules (``UnaryFunction/apply(_:)``,
    /// ``BinaryFunction/apply(_:_:)``): each case names its function as a
    /// constant, so the compiler folds the catalog's switch away and the
    /// tape keeps its one switch on a byte.
    func forward<T: TensorElement>(_ v: UnsafeMutablePointer<T>) {
        for i in 0..<count {
            let x = v[Int(a[i])], y = v[Int(b[i])]
            switch codes[i] {
            case .leaf: continue
            case .copy, .maxOfOne: v[i] = x
            case .neg: v[i] = UnaryFunction.neg.apply(x)
            case .exp: v[i] = UnaryFunction.exp.apply(x)
            case .log: v[i] = UnaryFunction.log.apply(x)
            case .sqrt: v[i] = UnaryFunction.sqrt.apply(x)
            case .pow: v[i] = UnaryFunction.pow(constant[i]).apply(x)
            case .tanh: v[i] = UnaryFunction.tanh.apply(x)
            case .sigmoid: v[i] = UnaryFunction.sigmoid.apply(x)
            case .relu: v[i] = UnaryFunction.relu.apply(x)
            case .sin: v[i] = UnaryFunction.sin.apply(x)
            case .cos: v[i] = UnaryFunction.cos.apply(x)
            case .abs: v[i] = UnaryFunction.abs.apply(x)
            case .add: v[i] = BinaryFunction.add.apply(x, y)
            case .sub: v[i] = BinaryFunction.sub.apply(x, y)
            case .mul: v[i] = BinaryFunction.mul.apply(x, y)
            case .div: v[i] = BinaryFunction.div.apply(x, y)
            case .sigmoidCrossEntropy: v[i] = Losses.sigmoidCrossEntropy(x, y)
            }
        }
    }

    /// Accumulates adjoints in reverse: `g` starts as zeros with the seed at
    /// the output; each node adds `g[i] · ∂f_i/∂x` into its operands, by
    /// the catalog's rules (``UnaryFunction/pullback(x:y:g:)``,
    /// ``BinaryFunction/pullbacks(a:b:y:g:)``), as in ``forward(_:)``.
    func backward<T: TensorElement>(_ v: UnsafePointer<T>, _ g: UnsafeMutablePointer<T>) {
        for i in stride(from: count - 1, through: 0, by: -1) {
            let gi = g[i]
            let ia = Int(a[i]), ib = Int(b[i])
            let x = v[ia], y = v[ib], out = v[i]
            switch codes[i] {
            case .leaf: continue
            case .copy: g[ia] += gi
            case .maxOfOne: g[ia] += x == out ? gi : 0
            case .neg: g[ia] += UnaryFunction.neg.pullback(x: x, y: out, g: gi)
            case .exp: g[ia] += UnaryFunction.exp.pullback(x: x, y: out, g: gi)
            case .log: g[ia] += UnaryFunction.log.pullback(x: x, y: out, g: gi)
            case .sqrt: g[ia] += UnaryFunction.sqrt.pullback(x: x, y: out, g: gi)
            case .pow: g[ia] += UnaryFunction.pow(constant[i]).pullback(x: x, y: out, g: gi)
            case .tanh: g[ia] += UnaryFunction.tanh.pullback(x: x, y: out, g: gi)
            case .sigmoid: g[ia] += UnaryFunction.sigmoid.pullback(x: x, y: out, g: gi)
            case .relu: g[ia] += UnaryFunction.relu.pullback(x: x, y: out, g: gi)
            case .sin: g[ia] += UnaryFunction.sin.pullback(x: x, y: out, g: gi)
            case .cos: g[ia] += UnaryFunction.cos.pullback(x: x, y: out, g: gi)
            case .abs: g[ia] += UnaryFunction.abs.pullback(x: x, y: out, g: gi)
            case .add: accumulate(BinaryFunction.add.pullbacks(a: x, b: y, y: out, g: gi))
            case .sub: accumulate(BinaryFunction.sub.pullbacks(a: x, b: y, y: out, g: gi))
            case .mul: accumulate(BinaryFunction.mul.pullbacks(a: x, b: y, y: out, g: gi))
            case .div: accumulate(BinaryFunction.div.pullbacks(a: x, b: y, y: out, g: gi))
            case .sigmoidCrossEntropy:
                accumulate(Losses.sigmoidCrossEntropyPullbacks(z: x, target: y, g: gi))
            }
            @inline(__always) func accumulate(_ pullbacks: (T, T)) {
                g[ia] += pullbacks.0
                g[ib] += pullbacks.1
            }
        }
    }
}
