/// How a training plan updates its parameters after each backward pass:
/// the method (SGD with optional momentum, or Adam) and its
/// hyperparameters.
///
/// A plan compiled with ``PlanOptions/optimizer`` appends *update phases*
/// after the backward join (`// Note [Optimizer phases]`): each parameter
/// is updated in place, in chunks run by the runtime's workers, and the
/// optimizer's state (SGD's velocity, Adam's moments) lives in the
/// execution's arena. ``Execution/step(on:)`` runs forward, backward and
/// update in one pass.
///
/// ```swift
/// let plan = Plan(graph, options: PlanOptions(optimizer: .sgd(learningRate: 0.1)))
/// let execution = try Execution(plan: plan)
/// try execution.step(on: runtime)           // θ ← θ − η ∇J_B(θ)
/// execution.learningRate = 0.05             // takes effect at the next step
/// ```
///
/// The update rules, for a parameter w with gradient g, learning rate η
/// and weight decay λ (applied to the gradient, `g ← g + λ·w`, except for
/// AdamW's decoupled form):
///
/// - SGD: `w ← w − η·g`. With momentum μ: `v ← μ·v + g`, then
///   `w ← w − η·v`, or `w ← w − η·(g + μ·v)` with Nesterov momentum
///   (PyTorch's formulation, `v` starting at 0).
/// - Adam, at step t (counted from 1): `m ← β₁·m + (1 − β₁)·g`,
///   `v ← β₂·v + (1 − β₂)·g²`, then
///   `w ← w − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)`. With
///   `decoupledWeightDecay` (AdamW), `w ← w − η·λ·w` first and g is left
///   as it is.
public struct Optimizer: Sendable, Equatable, CustomStringConvertible {
    /// The update rule and the hyperparameters specific to it.
    public enum Method: Sendable, Equatable {
        /// Stochastic gradient descent, with heavy-ball (or Nesterov)
        /// momentum when `momentum` > 0.
        case sgd(momentum: Double, nesterov: Bool)
        /// Adam with bias correction; AdamW when `decoupledWeightDecay`.
        case adam(beta1: Double, beta2: Double, epsilon: Double, decoupledWeightDecay: Bool)
    }

    /// The update rule.
    public var method: Method
    /// The step size η. May change between steps (``Execution/learningRate``).
    public var learningRate: Double
    /// The L2 penalty λ (0: none).
    public var weightDecay: Double

    /// An optimizer with the given method and hyperparameters.
    public init(method: Method, learningRate: Double, weightDecay: Double = 0) {
        self.method = method
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    /// Stochastic gradient descent: `w ← w − η·g`, with optional momentum
    /// and weight decay.
    ///
    /// - Parameters:
    ///   - learningRate: η, at least 0.
    ///   - momentum: μ in [0, 1); 0 is plain SGD.
    ///   - nesterov: Nesterov momentum instead of heavy-ball.
    ///   - weightDecay: λ ≥ 0, added to the gradient as `λ·w`.
    public static func sgd(
        learningRate: Double, momentum: Double = 0, nesterov: Bool = false,
        weightDecay: Double = 0
    ) -> Optimizer {
        Optimizer(
            method: .sgd(momentum: momentum, nesterov: nesterov), learningRate: learningRate,
            weightDecay: weightDecay)
    }

    /// Adam (Kingma and Ba, 2015) with bias correction.
    ///
    /// - Parameters:
    ///   - learningRate: η, at least 0.
    ///   - beta1: β₁ in [0, 1), the decay of the first moment.
    ///   - beta2: β₂ in [0, 1), the decay of the second moment.
    ///   - epsilon: ε > 0, added to the denominator.
    ///   - weightDecay: λ ≥ 0.
    ///   - decoupledWeightDecay: AdamW: decay the weights directly
    ///     (`w ← w − η·λ·w`) instead of adding `λ·w` to the gradient.
    public static func adam(
        learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false
    ) -> Optimizer {
        Optimizer(
            method: .adam(
                beta1: beta1, beta2: beta2, epsilon: epsilon,
                decoupledWeightDecay: decoupledWeightDecay),
            learningRate: learningRate, weightDecay: weightDecay)
    }

    /// The method's name: `"sgd"` or `"adam"` (as checkpoints record it).
    public var name: String {
        switch method {
        case .sgd: "sgd"
        case .adam: "adam"
        }
    }

    /// Whether `other` uses the same update rule (and so the same state):
    /// hyperparameters may differ.
    public func hasSameMethod(as other: Optimizer) -> Bool { name == other.name }

    /// State elements per parameter element: SGD's velocity (kept even
    /// when momentum is 0, so that momentum can be turned on between
    /// steps), Adam's two moments.
    var stateCount: Int {
        switch method {
        case .sgd: 1
        case .adam: 2
        }
    }

    /// The estimated cost of updating one element, in element-operations
    /// (the plan's cost model).
    var unitCost: Int {
        switch method {
        case .sgd: 4
        case .adam: 16
        }
    }

    public var description: String {
        var text = "\(name)(learningRate: \(learningRate)"
        switch method {
        case .sgd(let momentum, let nesterov):
            if momentum != 0 { text += ", momentum: \(momentum)" }
            if nesterov { text += ", nesterov" }
        case .adam(let beta1, let beta2, let epsilon, let decoupled):
            text += ", beta1: \(beta1), beta2: \(beta2), epsilon: \(epsilon)"
            if decoupled { text += ", decoupled" }
        }
        if weightDecay != 0 { text += ", weightDecay: \(weightDecay)" }
        return text + ")"
    }

    /// Checks every hyperparameter's range.
    ///
    /// - Throws: ``TrainingError/invalidHyperparameter(name:value:expected:)``
    ///   naming the first one out of range.
    public func validate() throws(TrainingError) {
        func check(_ name: String, _ value: Double, _ expected: String, _ ok: Bool)
            throws(TrainingError)
        {
            guard ok, value.isFinite else {
                throw .invalidHyperparameter(name: name, value: value, expected: expected)
            }
        }
        try check("learningRate", learningRate, "≥ 0", learningRate >= 0)
        try check("weightDecay", weightDecay, "≥ 0", weightDecay >= 0)
        switch method {
        case .sgd(let momentum, _):
            try check("momentum", momentum, "in [0, 1)", momentum >= 0 && momentum < 1)
        case .adam(let beta1, let beta2, let epsilon, _):
            try check("beta1", beta1, "in [0, 1)", beta1 >= 0 && beta1 < 1)
            try check("beta2", beta2, "in [0, 1)", beta2 >= 0 && beta2 < 1)
            try check("epsilon", epsilon, "> 0", epsilon > 0)
        }
    }
}

/// Why a training call was refused.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// ``Execution/step(on:)`` or an optimizer setting on an execution whose
    /// plan has no optimizer (``PlanOptions/optimizer`` is `nil`).
    case notTraining
    /// A hyperparameter is out of range or not finite.
    case invalidHyperparameter(name: String, value: Double, expected: String)
    /// An optimizer with another update rule than the plan's (the plan's
    /// state buffers are laid out for its own).
    case optimizerMismatch(plan: String, given: String)
    /// Copying parameters between executions whose graphs do not have the
    /// same parameters (names and shapes).
    case parameterMismatch(String)

    public var description: String {
        switch self {
        case .notTraining:
            "the plan has no optimizer (compile it with PlanOptions(optimizer:) to train)"
        case .invalidHyperparameter(let name, let value, let expected):
            "optimizer \(name) is \(value), expected a finite value \(expected)"
        case .optimizerMismatch(let plan, let given):
            "the plan was compiled for the \(plan) optimizer, not \(given)"
        case .parameterMismatch(let message): "parameters do not match: \(message)"
        }
    }
}
