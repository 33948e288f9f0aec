import CKernels

/// Vectorised elementwise math — exp, log, tanh, sigmoid, sin, cos and x^p
/// (a constant p) over arrays of `Float` or `Double` — through the C
/// kernels of `CKernels` (`CKVectorMath.h`), for the instruction set in use.
///
/// The only Swift code that calls those kernels: it picks the functions for
/// ``InstructionSet/current`` once, and the runtime's ranged kernels
/// (`ElementwiseKernels`) call ``apply(_:x:y:count:)``; the reference
/// executor and the scalar tape keep libm (`UnaryFunction.apply`), so the
/// oracle stays independent of this code.
///
/// ```swift
/// let x: [Float] = [0, 1, 2]
/// var y = [Float](repeating: 0, count: 3)
/// x.withUnsafeBufferPointer { xs in
///     y.withUnsafeMutableBufferPointer { ys in
///         _ = VectorMath.apply(.exp, x: xs.baseAddress!, y: ys.baseAddress!, count: 3)
///     }
/// }
/// // y == [1, 2.7182817, 7.389056]
/// ```
///
/// Every result is within the function's published error bound
/// (``maxUlpError(_:_:)``, `docs/ops.md`, "Accuracy of the vectorised
/// math") of the correctly rounded value; special values follow IEEE libm.
/// An element's result depends only on its value and the instruction set,
/// never on the count or where a chunk begins (Note [Vector math chunk
/// independence] in `Sources/CKernels/VectorMathBody.h`), so chunked
/// execution stays bitwise deterministic.
enum VectorMath {
    /// C kernels: `y[i] = f(x[i])` for `i` in `0..<n`.
    typealias FloatKernel =
        @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    typealias DoubleKernel =
        @convention(c) (UnsafePointer<Double>?, UnsafeMutablePointer<Double>?, Int) -> Void
    /// `y[i] = x[i]^p` for `i` in `0..<n`.
    typealias FloatPowKernel =
        @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Double) -> Void
    typealias DoublePowKernel =
        @convention(c) (UnsafePointer<Double>?, UnsafeMutablePointer<Double>?, Int, Double) -> Void

    /// The kernels of one instruction set, indexed by `Function.rawValue`,
    /// and the two pow kernels.
    struct Table: Sendable {
        let float: [FloatKernel]
        let double: [DoubleKernel]
        let floatPow: FloatPowKernel
        let doublePow: DoublePowKernel
    }

    /// The functions of one argument with vector kernels for both types
    /// (`pow`, which takes its exponent too, is handled apart).
    enum Function: Int, CaseIterable, Sendable {
        case exp, log, tanh, sigmoid, sin, cos

        init?(_ f: UnaryFunction) {
            switch f {
            case .exp: self = .exp
            case .log: self = .log
            case .tanh: self = .tanh
            case .sigmoid: self = .sigmoid
            case .sin: self = .sin
            case .cos: self = .cos
            case .neg, .sqrt, .pow, .relu, .abs: return nil
            }
        }
    }

    /// Whether `f` has a vector kernel for `T` (else
    /// ``apply(_:x:y:count:)`` returns `false` and the caller loops over
    /// `f.apply`).
    static func vectorises<T: TensorElement>(_ f: UnaryFunction, _: T.Type) -> Bool {
        Function(f) != nil
            || ((T.self == Float.self || T.self == Double.self) && vectorisedPower(f) != nil)
    }

    /// The exponent of a `pow` the kernels compute: finite, and not 0, 1,
    /// 2 or −1, which `power` computes exactly with one operation.
    static func vectorisedPower(_ f: UnaryFunction) -> Double? {
        guard case .pow(let p) = f, p.isFinite, ![0, 1, 2, -1].contains(p) else { return nil }
        return p
    }

    /// The published error bound of `f` on `T`, in units in the last
    /// place against the correctly rounded result, for every instruction
    /// set (measured: `docs/ops.md`); `nil` for functions not vectorised.
    static func maxUlpError<T: TensorElement>(_ f: UnaryFunction, _: T.Type) -> Double? {
        guard let function = Function(f) else {
            // pow, measured (10^4 points per type, 10 exponents): float32 1
            // ulp; float64 1 (results in the subnormal range, scaled into
            // place after rounding, can be 1 ulp off).
            guard vectorises(f, T.self) else { return nil }
            return T.self == Float.self ? 1 : 2
        }
        // Measured (10^5 points per pair): 1 ulp for all but sigmoid, 2.
        switch function {
        case .exp, .log, .tanh, .sin, .cos: return 2
        case .sigmoid: return 3
        }
    }

    /// The kernels for ``InstructionSet/current``, chosen once.
    static let current = table(for: InstructionSet.current)

    /// y[i] = f(x[i]) for i in `0..<count` on the current instruction set;
    /// `false` (and nothing written) when `f` is not vectorised. `x` and
    /// `y` may be the same array.
    @inline(__always)
    static func apply<T: TensorElement>(
        _ f: UnaryFunction, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, count: Int
    ) -> Bool {
        run(current, f, x: x, y: y, count: count)
    }

    /// As ``apply(_:x:y:count:)``, on the path of a given instruction set
    /// (for tests comparing paths).
    ///
    /// - Precondition: `isa` is in ``InstructionSet/supported``.
    static func apply<T: TensorElement>(
        _ f: UnaryFunction, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, count: Int,
        isa: InstructionSet
    ) -> Bool {
        precondition(InstructionSet.supported.contains(isa), "\(isa) is not supported here")
        return run(table(for: isa), f, x: x, y: y, count: count)
    }

    @inline(__always)
    private static func run<T: TensorElement>(
        _ table: Table, _ f: UnaryFunction, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>,
        count: Int
    ) -> Bool {
        guard let function = Function(f) else {
            guard let p = vectorisedPower(f) else { return false }
            if T.self == Float.self {
                // The exponent as `power` uses it: rounded to Float.
                table.floatPow(
                    UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                    UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), count,
                    Double(Float(p)))
                return true
            }
            if T.self == Double.self {
                table.doublePow(
                    UnsafeRawPointer(x).assumingMemoryBound(to: Double.self),
                    UnsafeMutableRawPointer(y).assumingMemoryBound(to: Double.self), count, p)
                return true
            }
            return false
        }
        if T.self == Float.self {
            table.float[function.rawValue](
                UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), count)
            return true
        }
        if T.self == Double.self {
            table.double[function.rawValue](
                UnsafeRawPointer(x).assumingMemoryBound(to: Double.self),
                UnsafeMutableRawPointer(y).assumingMemoryBound(to: Double.self), count)
            return true
        }
        return false
    }

    /// The kernels of `isa` (those of the baseline off x86-64).
    static func table(for isa: InstructionSet) -> Table {
        #if arch(x86_64)
            switch isa {
            case .avx512:
                return Table(
                    float: [
                        ck_exp_f32_avx512, ck_log_f32_avx512,
                        ck_tanh_f32_avx512, ck_sigmoid_f32_avx512,
                        ck_sin_f32_avx512, ck_cos_f32_avx512,
                    ],
                    double: [
                        ck_exp_f64_avx512, ck_log_f64_avx512,
                        ck_tanh_f64_avx512, ck_sigmoid_f64_avx512,
                        ck_sin_f64_avx512, ck_cos_f64_avx512,
                    ],
                    floatPow: ck_pow_f32_avx512, doublePow: ck_pow_f64_avx512)
            case .avx2:
                return Table(
                    float: [
                        ck_exp_f32_avx2, ck_log_f32_avx2, ck_tanh_f32_avx2,
                        ck_sigmoid_f32_avx2, ck_sin_f32_avx2,
                        ck_cos_f32_avx2,
                    ],
                    double: [
                        ck_exp_f64_avx2, ck_log_f64_avx2, ck_tanh_f64_avx2,
                        ck_sigmoid_f64_avx2, ck_sin_f64_avx2,
                        ck_cos_f64_avx2,
                    ],
                    floatPow: ck_pow_f32_avx2, doublePow: ck_pow_f64_avx2)
            case .baseline:
                break
            }
        #endif
        return Table(
            float: [
                ck_exp_f32_baseline, ck_log_f32_baseline,
                ck_tanh_f32_baseline, ck_sigmoid_f32_baseline,
                ck_sin_f32_baseline, ck_cos_f32_baseline,
            ],
            double: [
                ck_exp_f64_baseline, ck_log_f64_baseline,
                ck_tanh_f64_baseline, ck_sigmoid_f64_baseline,
                ck_sin_f64_baseline, ck_cos_f64_baseline,
            ],
            floatPow: ck_pow_f32_baseline, doublePow: ck_pow_f64_baseline)
    }
}
