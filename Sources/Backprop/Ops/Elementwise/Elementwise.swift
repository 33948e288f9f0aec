// Elementwise ops: forward kernel and VJP side by side.
//
// Unary functions have the Jacobian diag(f'(x)), so the VJP is g ⊙ f'(x),
// written with the output y where that is cheaper or more accurate.
// Binary functions broadcast NumPy-style; their VJP computes the full-size
// contribution and then sums it over the broadcast axes (the transpose of
// broadcasting).

/// An elementwise function of one argument.
public enum UnaryFunction: Sendable, Hashable {
    /// −x. VJP: −g.
    case neg
    /// eˣ. VJP: g·y.
    case exp
    /// ln x. VJP: g / x.
    case log
    /// √x. VJP: g / (2y).
    case sqrt
    /// x^p for a constant p. VJP: g·p·x^(p−1), and exactly 0 for p = 0.
    case pow(Double)
    /// tanh x. VJP: g·(1 − y²).
    case tanh
    /// σ(x) = 1 / (1 + e^−x), evaluated without overflow. VJP: g·y·(1 − y).
    case sigmoid
    /// max(x, 0), NaN for NaN. VJP: g where x > 0, else 0.
    case relu
    /// sin x. VJP: g·cos x.
    case sin
    /// cos x. VJP: −g·sin x.
    case cos
    /// |x|. VJP: g·sign(x), with sign(0) = 0.
    case abs

    var kind: OpKind {
        switch self {
        case .neg: .neg
        case .exp: .exp
        case .log: .log
        case .sqrt: .sqrt
        case .pow: .pow
        case .tanh: .tanh
        case .sigmoid: .sigmoid
        case .relu: .relu
        case .sin: .sin
        case .cos: .cos
        case .abs: .abs
        }
    }

    /// f(x) for one element.
    @inlinable @inline(__always)
    func apply<T: TensorElement>(_ x: T) -> T {
        switch self {
        case .neg: return -x
        case .exp: return T.exp(x)
        case .log: return T.log(x)
        case .sqrt: return x.squareRoot()
        case .pow(let p): return power(x, p)
        case .tanh: return T.tanh(x)
        case .sigmoid: return logistic(x)
        case .relu: return x > 0 || x.isNaN ? x : 0
        case .sin: return T.sin(x)
        case .cos: return T.cos(x)
        case .abs: return Swift.abs(x)
        }
    }

    /// g · f'(x) for one element, given x, y = f(x) and the cotangent g.
    @inlinable @inline(__always)
    func pullback<T: TensorElement>(x: T, y: T, g: T) -> T {
        switch self {
        case .neg: return -g
        case .exp: return g * y
        case .log: return g / x
        case .sqrt: return g / (2 * y)
        case .pow(let p):
            if p == 0 { return 0 }
            return g * T(p) * power(x, p - 1)
        case .tanh: return g * (1 - y * y)
        case .sigmoid: return g * y * (1 - y)
        case .relu: return x > 0 ? g : 0
        case .sin: return g * T.cos(x)
        case .cos: return -g * T.sin(x)
        case .abs: return x > 0 ? g : (x < 0 ? -g : 0)
        }
    }

    func forward<T: TensorElement>(_ x: Tensor<T>) -> Tensor<T> {
        x.map { apply($0) }
    }

    func vjp<T: TensorElement>(x: Tensor<T>, y: Tensor<T>, g: Tensor<T>) -> Tensor<T> {
        var out = [T](repeating: 0, count: x.count)
        for k in 0..<out.count {
            out[k] = pullback(x: x.scalars[k], y: y.scalars[k], g: g.scalars[k])
        }
        return Tensor(uncheckedShape: x.shape, scalars: out)
    }
}

/// x^p, skipping the library call for the powers that one correctly
/// rounded operation gives exactly as `pow` would (0, 1, 2 and -1).
@inlinable
func power<T: TensorElement>(_ x: T, _ p: Double) -> T {
    switch p {
    case 0: return 1
    case 1: return x
    case 2: return x * x
    case -1: return 1 / x
    default: return T.pow(x, T(p))
    }
}

/// The logistic function, without overflow for large |x|.
@inlinable
func logistic<T: TensorElement>(_ x: T) -> T {
    if x >= 0 { return 1 / (1 + T.exp(-x)) }
    let e = T.exp(x)
    return e / (1 + e)
}

/// An elementwise function of two arguments with NumPy broadcasting.
public enum BinaryFunction: Sendable, Hashable {
    /// a + b. VJP: (g, g), each summed to its operand's shape.
    case add
    /// a − b. VJP: (g, −g).
    case sub
    /// a · b (bilinear). VJP: (g·b, g·a).
    case mul
    /// a / b. VJP: (g / b, −g·a / b²).
    case div

    var kind: OpKind {
        switch self {
        case .add: .add
        case .sub: .sub
        case .mul: .mul
        case .div: .div
        }
    }

    func shape(_ a: Shape, _ b: Shape) throws(ShapeRuleError) -> Shape {
        guard let s = Shape.broadcast(a, b) else {
            throw .mismatch("shapes \(a) and \(b) cannot be broadcast together")
        }
        return s
    }

    @inlinable @inline(__always)
    func apply<T: TensorElement>(_ a: T, _ b: T) -> T {
        switch self {
        case .add: a + b
        case .sub: a - b
        case .mul: a * b
        case .div: a / b
        }
    }

    /// The two one-sided pullbacks for one element, `(g·∂f/∂a, g·∂f/∂b)`,
    /// given a, b, y = f(a, b) and the cotangent g (before any sum over
    /// broadcast axes).
    @inlinable @inline(__always)
    func pullbacks<T: TensorElement>(a: T, b: T, y: T, g: T) -> (T, T) {
        switch self {
        case .add: (g, g)
        case .sub: (g, -g)
        case .mul: (g * b, g * a)
        case .div: (g / b, -g * (y / b))
        }
    }

    func forward<T: TensorElement>(_ a: Tensor<T>, _ b: Tensor<T>, shape: Shape) -> Tensor<T> {
        a.broadcastZip(b, to: shape) { apply($0, $1) }
    }

    func vjp<T: TensorElement>(_ a: Tensor<T>, _ b: Tensor<T>, g: Tensor<T>) -> [Tensor<T>?] {
        let shape = g.shape
        switch self {
        case .add:
            return [g.sum(toShape: a.shape), g.sum(toShape: b.shape)]
        case .sub:
            return [g.sum(toShape: a.shape), g.map { -$0 }.sum(toShape: b.shape)]
        case .mul:
            let ga = g.broadcastZip(b, to: shape, *)
            let gb = g.broadcastZip(a, to: shape, *)
            return [ga.sum(toShape: a.shape), gb.sum(toShape: b.shape)]
        case .div:
            let ga = g.broadcastZip(b, to: shape, /)
            let ab = a.broadcastZip(b, to: shape) { ($0 / $1) / $1 }
            let gb = g.zipMap(ab) { -$0 * $1 }
            return [ga.sum(toShape: a.shape), gb.sum(toShape: b.shape)]
        }
    }
}
