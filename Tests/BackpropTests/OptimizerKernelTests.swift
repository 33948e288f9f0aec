import BackpropWorkloads
import CKernels
import Testing

@testable import Backprop

/// The Adam update's C kernels (`CKOptimizer.h`, one per instruction set)
/// give the bits of the Swift loop they replace, with and without weight
/// decay, in both element types, on every path this CPU supports.
@Suite struct OptimizerKernelTests {
    static func check<T: TensorElement>(
        _: T.Type, n: Int, weightDecay: Double, decoupled: Bool, seed: UInt64
    ) {
        var rng = WorkloadGenerator(seed: seed)
        let optimizer = Optimizer.adam(
            learningRate: 0.01, weightDecay: weightDecay, decoupledWeightDecay: decoupled)
        let c = UpdateConstants<T>(optimizer, step: 3)
        let w0 = (0..<n).map { _ in T(rng.unit() * 2 - 1) }
        let g = (0..<n).map { _ in T(rng.unit() * 2 - 1) * 1e-2 }
        let s0 = (0..<(2 * n)).map { k in T(k % 2 == 0 ? rng.unit() - 0.5 : rng.unit()) * 1e-3 }
        var (wSwift, sSwift) = (w0, s0)
        wSwift.withUnsafeMutableBufferPointer { w in
            sSwift.withUnsafeMutableBufferPointer { s in
                g.withUnsafeBufferPointer { g in
                    let (wp, gp, sp) = (w.baseAddress!, g.baseAddress!, s.baseAddress!)
                    OptimizerKernels.adam(c, w: wp, state: sp, 0..<n) {
                        c.weightDecay == 0 ? gp[$0] : gp[$0] + c.weightDecay * wp[$0]
                    }
                }
            }
        }
        for isa in InstructionSet.supported {
            let kernels = OptimizerKernels.AdamKernels.kernels(for: isa)
            var (w, s) = (w0, s0)
            let k = CKAdamConstants(
                b1: Double(c.beta1), c1: Double(c.oneMinusBeta1), b2: Double(c.beta2),
                c2: Double(c.oneMinusBeta2), inv: Double(c.inverseRootCorrection),
                eps: Double(c.epsilon), decay: Double(c.decayFactor), step: Double(c.stepSize),
                wd: Double(c.weightDecay))
            w.withUnsafeMutableBufferPointer { w in
                s.withUnsafeMutableBufferPointer { s in
                    g.withUnsafeBufferPointer { g in
                        if T.self == Float.self {
                            kernels.float(
                                UnsafeMutableRawPointer(w.baseAddress!).assumingMemoryBound(
                                    to: Float.self),
                                UnsafeRawPointer(g.baseAddress!).assumingMemoryBound(
                                    to: Float.self),
                                UnsafeMutableRawPointer(s.baseAddress!).assumingMemoryBound(
                                    to: Float.self), n, k)
                        } else {
                            kernels.double(
                                UnsafeMutableRawPointer(w.baseAddress!).assumingMemoryBound(
                                    to: Double.self),
                                UnsafeRawPointer(g.baseAddress!).assumingMemoryBound(
                                    to: Double.self),
                                UnsafeMutableRawPointer(s.baseAddress!).assumingMemoryBound(
                                    to: Double.self), n, k)
                        }
                    }
                }
            }
            #expect(
                zip(w, wSwift).allSatisfy { $0 == $1 } && zip(s, sSwift).allSatisfy { $0 == $1 },
                "\(T.self) n \(n) weight decay \(weightDecay) decoupled \(decoupled) \(isa)")
            #expect(w != w0, "the update changed nothing")
        }
    }

    @Test(arguments: [1, 7, 33, 100, 4_611])
    func cKernelsGiveTheSwiftLoopsBits(n: Int) {
        for (weightDecay, decoupled) in [(0.0, false), (1e-2, false), (1e-2, true)] {
            Self.check(
                Float.self, n: n, weightDecay: weightDecay, decoupled: decoupled, seed: UInt64(n))
            Self.check(
                Double.self, n: n, weightDecay: weightDecay, decoupled: decoupled,
                seed: UInt64(n) + 1)
        }
    }
}
