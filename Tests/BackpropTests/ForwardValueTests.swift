import Foundation
import Testing

@testable import Backprop

/// Forward kernels against values computed by hand, so that a wrong forward
/// kernel cannot hide behind a VJP that is consistent with it.
@Suite struct ForwardValueTests {
    func eval(_ make: (GraphBuilder<Double>) -> Node<Double>) throws -> Tensor<Double> {
        let b = GraphBuilder<Double>()
        return try ReferenceExecutor().forward(b.build(output: make(b), simplify: false)).output
    }
    func t(_ shape: Shape, _ v: [Double]) -> Tensor<Double> {
        try! Tensor(shape: shape, scalars: v)
    }
    let m23 = try! Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])

    @Test func broadcastingBinaryOps() throws {
        #expect(
            try eval { $0.constant(m23) + $0.constant(Tensor([10.0, 20, 30])) }
                == t([2, 3], [11, 22, 33, 14, 25, 36]))
        #expect(
            try eval { $0.constant(m23) - $0.constant(t([2, 1], [1, 2])) }
                == t([2, 3], [0, 1, 2, 2, 3, 4]))
        #expect(
            try eval { $0.constant(t([2, 1], [1, 2])) * $0.constant(Tensor([1.0, 10])) }
                == t([2, 2], [1, 10, 2, 20]))
        #expect(try eval { 6 / $0.constant(m23) } == t([2, 3], [6, 3, 2, 1.5, 1.2, 1]))
    }

    @Test func unaryFunctions() throws {
        #expect(try eval { $0.constant(Tensor([-2.0, 0, 3])).relu() } == Tensor([0.0, 0, 3]))
        #expect(try eval { $0.constant(Tensor([-2.0, 0, 3])).abs() } == Tensor([2.0, 0, 3]))
        #expect(try eval { -$0.constant(Tensor([-2.0, 3])) } == Tensor([2.0, -3]))
        #expect(try eval { $0.constant(Tensor([4.0, 9])).sqrt() } == Tensor([2.0, 3]))
        #expect(try eval { $0.constant(Tensor([-3.0, 2])).pow(2) } == Tensor([9.0, 4]))
        #expect(try eval { $0.constant(Tensor([4.0])).pow(-0.5) } == Tensor([0.5]))
        let s = try eval { $0.constant(Tensor([-1000.0, 0, 1000])).sigmoid() }
        #expect(s == Tensor([0.0, 0.5, 1]))
        #expect(
            try eval { $0.constant(Tensor([0.0])).exp() + $0.constant(Tensor([1.0])).log() }
                == Tensor([1.0]))
    }

    @Test func matmulPlainAndBatched() throws {
        let b32 = t([3, 2], [1, 0, 0, 1, 1, 1])
        #expect(
            try eval { $0.constant(m23).matmul($0.constant(b32)) } == t([2, 2], [4, 5, 10, 11]))
        let batched = t([2, 2, 3], [1, 2, 3, 4, 5, 6, 0, 0, 1, 1, 0, 0])
        #expect(
            try eval { $0.constant(batched).matmul($0.constant(b32)) }
                == t([2, 2, 2], [4, 5, 10, 11, 1, 1, 1, 0]))
    }

    @Test func reductions() throws {
        #expect(try eval { $0.constant(m23).sum() } == Tensor(21.0))
        #expect(try eval { $0.constant(m23).sum(axes: [0]) } == Tensor([5.0, 7, 9]))
        #expect(
            try eval { $0.constant(m23).mean(axes: [-1], keepDims: true) } == t([2, 1], [2, 5]))
        #expect(
            try eval { $0.constant(t([2, 2], [3, -1, 2, 8])).max(axes: [1]) } == Tensor([3.0, 8]))
        #expect(try eval { $0.constant(t([2, 2], [3, -1, 2, 8])).max() } == Tensor(8.0))
    }

    @Test func maxSplitsTheGradientAmongTies() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", Tensor([1.0, 5, 5, 2]))
        let r = try ReferenceExecutor().gradients(b.build(output: x.max()))
        #expect(r[x] == Tensor([0.0, 0.5, 0.5, 0]))
    }

    @Test func movement() throws {
        #expect(try eval { $0.constant(m23).transposed() } == t([3, 2], [1, 4, 2, 5, 3, 6]))
        let x = t([2, 1, 3], [1, 2, 3, 4, 5, 6])
        #expect(
            try eval { $0.constant(x).permuted([2, 0, 1]) } == t([3, 2, 1], [1, 4, 2, 5, 3, 6]))
        #expect(try eval { $0.constant(m23).reshaped([3, -1]) } == t([3, 2], [1, 2, 3, 4, 5, 6]))
        #expect(
            try eval { $0.constant(Tensor([1.0, 2])).broadcast(to: [2, 2]) }
                == t([2, 2], [1, 2, 1, 2]))
        #expect(try eval { $0.constant(m23).slice(axis: 1, 1..<3) } == t([2, 2], [2, 3, 5, 6]))
        #expect(
            try eval { concat([$0.constant(m23), $0.constant(t([2, 1], [7, 8]))], axis: 1) }
                == t([2, 4], [1, 2, 3, 7, 4, 5, 6, 8]))
        #expect(
            try eval {
                concat([$0.constant(m23), $0.constant(t([1, 3], [7, 8, 9]))], axis: 0)
            } == t([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]))
    }

    @Test func softmaxFamilyIsStable() throws {
        let big = try eval {
            $0.constant(Tensor([1000.0, 1000, 1000 + Foundation.log(2)])).softmax()
        }
        #expect(big.isApproximatelyEqual(to: Tensor([0.25, 0.25, 0.5]), relativeTolerance: 1e-12))
        let cols = try eval {
            $0.constant(t([2, 2], [0, 0, 0, Foundation.log(3)])).softmax(axis: 0)
        }
        #expect(
            cols.isApproximatelyEqual(
                to: t([2, 2], [0.5, 0.25, 0.5, 0.75]), relativeTolerance: 1e-12))
        let ls = try eval { $0.constant(Tensor([-1000.0, 0])).logSoftmax() }
        #expect(ls.isApproximatelyEqual(to: Tensor([-1000.0, 0]), relativeTolerance: 1e-12))
    }

    @Test func crossEntropyAndSigmoidCrossEntropy() throws {
        let ce = try eval {
            crossEntropy(
                logits: $0.constant(t([2, 3], [0, 0, 0, 1000, 0, 0])),
                labels: $0.constant(Tensor([2.0, 0])))
        }
        #expect(
            ce.isApproximatelyEqual(to: Tensor([Foundation.log(3.0), 0]), relativeTolerance: 1e-12))
        let sce = try eval {
            sigmoidCrossEntropy(
                logits: $0.constant(Tensor([0.0, 50, -50])),
                targets: $0.constant(Tensor([1.0, 1, 1])))
        }
        #expect(
            sce.isApproximatelyEqual(
                to: Tensor([Foundation.log(2.0), Foundation.log1p(Foundation.exp(-50)), 50]),
                relativeTolerance: 1e-12))
    }
}
