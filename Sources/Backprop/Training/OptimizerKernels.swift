// Ranged optimizer updates: the work of a plan's update phases
// (Note [Optimizer phases] in 5-UpdatePhases.swift). Work units are parameter
// elements; each element is updated from its own value, gradient and state
// only, so any chunking gives the same bits. State is interleaved per
// element: SGD keeps v at state[e], Adam keeps m at state[2e] and v at
// state[2e + 1], so a chunk's state is one contiguous range.

/// One step's optimizer constants in the element type, computed once per
/// step on the calling thread (bias corrections included) and read by
/// every update chunk.
struct UpdateConstants<T: TensorElement>: Sendable {
    enum Rule: UInt8, Sendable {
        case sgd, momentum, nesterov, adam
    }
    var rule = Rule.sgd
    var learningRate: T = 0
    /// λ added to the gradient as λ·w (0 for AdamW, which decays w directly).
    var weightDecay: T = 0
    var momentum: T = 0
    var beta1: T = 0, oneMinusBeta1: T = 0
    var beta2: T = 0, oneMinusBeta2: T = 0
    var epsilon: T = 0
    /// η / (1 − β₁ᵗ).
    var stepSize: T = 0
    /// 1 / √(1 − β₂ᵗ).
    var inverseRootCorrection: T = 0
    /// 1 − η·λ for AdamW, else 1.
    var decayFactor: T = 1

    init() {}

    /// The constants of step `t` (counted from 1) of `optimizer`.
    init(_ optimizer: Optimizer, step t: Int) {
        learningRate = T(optimizer.learningRate)
        weightDecay = T(optimizer.weightDecay)
        switch optimizer.method {
        case .sgd(let mu, let nesterov):
            rule = mu == 0 ? .sgd : nesterov ? .nesterov : .momentum
            momentum = T(mu)
        case .adam(let b1, let b2, let eps, let decoupled):
            rule = .adam
            beta1 = T(b1)
            oneMinusBeta1 = T(1 - b1)
            beta2 = T(b2)
            oneMinusBeta2 = T(1 - b2)
            epsilon = T(eps)
            let power = Double(t)
            stepSize = T(optimizer.learningRate / (1 - Double.pow(b1, power)))
            inverseRootCorrection = T(1 / (1 - Double.pow(b2, power)).squareRoot())
            if decoupled {
                weightDecay = 0
                decayFactor = T(1 - optimizer.learningRate * optimizer.weightDecay)
            }
        }
    }
}

enum OptimizerKernels {
    /// Updates elements `r` of parameter `w` from its gradient `g` and
    /// optimizer state `state`, in place.
    static func update<T: TensorElement>(
        _ c: UpdateConstants<T>, w: UnsafeMutablePointer<T>, g: UnsafePointer<T>,
        state: UnsafeMutablePointer<T>, _ r: Range<Int>
    ) {
        let lr = c.learningRate, wd = c.weightDecay
        // The gradient with the L2 term; exactly g when λ = 0.
        @inline(__always) func gradient(_ e: Int) -> T { wd == 0 ? g[e] : g[e] + wd * w[e] }
        switch c.rule {
        case .sgd:
            if wd == 0 {
                for e in r { w[e] = w[e] - lr * g[e] }
            } else {
                for e in r { w[e] = w[e] - lr * (g[e] + wd * w[e]) }
            }
        case .momentum:
            let mu = c.momentum
            for e in r {
                let v = mu * state[e] + gradient(e)
                state[e] = v
                w[e] = w[e] - lr * v
            }
        case .nesterov:
            let mu = c.momentum
            for e in r {
                let d = gradient(e)
                let v = mu * state[e] + d
                state[e] = v
                w[e] = w[e] - lr * (d + mu * v)
            }
        case .adam:
            for e in r {
                let d = gradient(e)
                let m = c.beta1 * state[2 * e] + c.oneMinusBeta1 * d
                let v = c.beta2 * state[2 * e + 1] + c.oneMinusBeta2 * (d * d)
                state[2 * e] = m
                state[2 * e + 1] = v
                let denominator = v.squareRoot() * c.inverseRootCorrection + c.epsilon
                w[e] = w[e] * c.decayFactor - c.stepSize * (m / denominator)
            }
        }
    }
}
