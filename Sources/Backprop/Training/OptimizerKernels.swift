import CKernels

// Ranged optimizer updates: the work of a plan's update phases
// (Note [Optimizer phases] in 6-UpdatePhases.swift). Work units are parameter
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
            // The C kernel (vectorised: the Swift loop stayed scalar, 18% of
            // S5's profile); the Swift loop for other element types.
            if adamKernel(c, w: w, g: g, state: state, r) {
                return
            } else if wd == 0 {
                adam(c, w: w, state: state, r) { g[$0] }
            } else {
                adam(c, w: w, state: state, r) { g[$0] + wd * w[$0] }
            }
        }
    }

    /// Adam over `r` through the C kernel of the instruction set in use
    /// (`CKOptimizer.h`: vectorised, the bits of ``adam(_:w:state:_:_:)``);
    /// `false` for an element type it lacks.
    @inline(__always)
    private static func adamKernel<T: TensorElement>(
        _ c: UpdateConstants<T>, w: UnsafeMutablePointer<T>, g: UnsafePointer<T>,
        state: UnsafeMutablePointer<T>, _ r: Range<Int>
    ) -> Bool {
        let k = CKAdamConstants(
            b1: Double(c.beta1), c1: Double(c.oneMinusBeta1), b2: Double(c.beta2),
            c2: Double(c.oneMinusBeta2), inv: Double(c.inverseRootCorrection),
            eps: Double(c.epsilon), decay: Double(c.decayFactor), step: Double(c.stepSize),
            wd: Double(c.weightDecay))
        let (lo, n) = (r.lowerBound, r.count)
        if T.self == Float.self {
            adamKernels.float(
                UnsafeMutableRawPointer(w + lo).assumingMemoryBound(to: Float.self),
                UnsafeRawPointer(g + lo).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(state + 2 * lo).assumingMemoryBound(to: Float.self), n, k)
            return true
        }
        if T.self == Double.self {
            adamKernels.double(
                UnsafeMutableRawPointer(w + lo).assumingMemoryBound(to: Double.self),
                UnsafeRawPointer(g + lo).assumingMemoryBound(to: Double.self),
                UnsafeMutableRawPointer(state + 2 * lo).assumingMemoryBound(to: Double.self), n, k)
            return true
        }
        return false
    }

    /// The Adam kernels of an instruction set.
    struct AdamKernels: Sendable {
        let float:
            @convention(c) (
                UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?,
                Int, CKAdamConstants
            ) -> Void
        let double:
            @convention(c) (
                UnsafeMutablePointer<Double>?, UnsafePointer<Double>?,
                UnsafeMutablePointer<Double>?, Int, CKAdamConstants
            ) -> Void

        /// The kernels of `isa` (the baseline's off x86-64).
        static func kernels(for isa: InstructionSet) -> AdamKernels {
            #if arch(x86_64)
                switch isa {
                case .avx512:
                    return AdamKernels(float: ck_adam_f32_avx512, double: ck_adam_f64_avx512)
                case .avx2: return AdamKernels(float: ck_adam_f32_avx2, double: ck_adam_f64_avx2)
                case .baseline: break
                }
            #endif
            return AdamKernels(float: ck_adam_f32_baseline, double: ck_adam_f64_baseline)
        }
    }

    /// The Adam kernels for ``InstructionSet/current``.
    static let adamKernels = AdamKernels.kernels(for: InstructionSet.current)

    /// Adam over `r`, the gradient (with any L2 term) given by `gradient`.
    @inline(__always)
    static func adam<T: TensorElement>(
        _ c: UpdateConstants<T>, w: UnsafeMutablePointer<T>, state: UnsafeMutablePointer<T>,
        _ r: Range<Int>, _ gradient: (Int) -> T
    ) {
        let (beta1, oneMinusBeta1) = (c.beta1, c.oneMinusBeta1)
        let (beta2, oneMinusBeta2) = (c.beta2, c.oneMinusBeta2)
        let (inverseRoot, epsilon) = (c.inverseRootCorrection, c.epsilon)
        let (decay, stepSize) = (c.decayFactor, c.stepSize)
        for e in r {
            let d = gradient(e)
            let m = beta1 * state[2 * e] + oneMinusBeta1 * d
            let v = beta2 * state[2 * e + 1] + oneMinusBeta2 * (d * d)
            state[2 * e] = m
            state[2 * e + 1] = v
            let denominator = v.squareRoot() * inverseRoot + epsilon
            w[e] = w[e] * decay - stepSize * (m / denominator)
        }
    }
}
