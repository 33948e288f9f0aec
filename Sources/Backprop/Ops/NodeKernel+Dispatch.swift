// The compiled catalog's dispatch points: work units and their cost, the
// ranged forward kernel, the ranged VJP, and what a VJP reads. Exhaustive
// switches with no `default:`, like Op+Catalog.swift.

// Note [Cost units]
// Work is estimated in element-operations: one simple elementwise operation
// on one element (an add, a copy), about 0.1–0.3 ns with the vector
// kernels; a transcendental function counts 8. A matrix product counts its
// multiply-adds over 8 (`multiplyAddsPerOperation`): the micro-kernel is
// that much faster per multiply-add than an elementwise kernel per element,
// and before that factor a 64 × 64 × 64 product (about 9 µs on one Zen 3
// core) counted as much as 500 µs of elementwise work, so S5's small
// products went parallel and S5 ran slower at 2 threads than at 1
// (56 → 64–70 µs per step in half of the processes). The costs decide
// chunk counts (`PlanOptions.grain`) and which levels are worth a parallel
// phase (`PlanOptions.inlineThreshold`, 262,144: ~25–80 µs of work, well
// above what a hand-off to another core costs with hot workers, its cache
// lines included); they are functions of the graph only, never of the
// thread count (Note [Determinism]).

extension NodeKernel {
    /// Cost of one transcendental function call, in element-operations.
    private static let transcendental = 8

    /// Multiply-adds of a matrix product per element-operation: the
    /// register-blocked kernel retires a multiply-add in about an eighth of
    /// the time an elementwise kernel spends on an element (Zen 3, AVX2:
    /// 60 GFLOP/s against 3–10 G elements/s), so a product's cost per row
    /// is its k·n multiply-adds over 8 (Note [Cost units]).
    private static let multiplyAddsPerOperation = 8

    /// The cost of `multiplyAdds` of a matrix product, in element-operations.
    private static func productCost(_ multiplyAdds: Int) -> Int {
        Swift.max(1, multiplyAdds / multiplyAddsPerOperation)
    }

    private static func unaryCost(_ f: UnaryFunction) -> Int {
        switch f {
        case .neg, .relu, .abs: 1
        case .sqrt: 2
        case .pow(let p): p == 2 || p == 1 || p == 0 || p == -1 ? 1 : transcendental
        case .exp, .log, .tanh, .sigmoid, .sin, .cos: transcendental
        }
    }

    /// The forward pass's work units (a chunk is a range of them) and the
    /// estimated cost of one, in element-operations.
    func forwardUnits(outputCount n: Int) -> (units: Int, cost: Int) {
        switch self {
        case .leaf: (0, 0)
        case .copy, .concat: (n, 1)
        case .unary(let f): (n, Self.unaryCost(f))
        case .binary(_, let b): (n, b.same ? 1 : 3)
        case .matmul(let g): (g.batch * g.m, Self.productCost(g.k * g.n))
        case .reduce(_, let geo): (n, geo.reducedCount)
        case .transpose, .broadcast, .slice: (n, 2)
        case .softmax(let view, _): (view.outer * view.inner, 3 * Self.transcendental * view.length)
        case .crossEntropy(let examples, let classes): (examples, 2 * Self.transcendental * classes)
        case .sigmoidCrossEntropy: (n, 2 * Self.transcendental)
        case .custom: (1, 10 * n)
        }
    }

    /// The fewest work units worth a chunk of their own: a matrix-product
    /// chunk repacks its right operand, so it should cover many rows.
    var minimumUnitsPerChunk: Int {
        if case .matmul = self { return 32 }
        return 1
    }

    /// Whether the VJP's work units are the destination's elements, in
    /// order — so that several edges into one gradient can share chunks.
    var vjpUnitsAreElements: Bool {
        switch self {
        case .copy, .unary, .binary, .reduce, .transpose, .broadcast, .slice, .concat,
            .sigmoidCrossEntropy:
            true
        case .leaf, .matmul, .softmax, .crossEntropy, .custom: false
        }
    }

    /// Whether the forward pass's units are the output's elements, in order.
    var forwardUnitsAreElements: Bool {
        switch self {
        case .copy, .unary, .binary, .transpose, .broadcast, .slice, .concat, .sigmoidCrossEntropy:
            true
        case .leaf, .matmul, .reduce, .softmax, .crossEntropy, .custom: false
        }
    }

    /// Whether output element e reads element e of argument `slot` (and
    /// nothing else of it), so that a chunk can follow that parent's chunk
    /// of the same range while the parent's other arguments are complete
    /// (Note [Chunk chains]).
    func readsElementwise(slot: Int) -> Bool {
        switch self {
        case .copy, .unary: true
        case .binary(_, let b), .sigmoidCrossEntropy(let b): (slot == 0 ? b.a : b.b) == b.out
        case .leaf, .matmul, .reduce, .transpose, .broadcast, .slice, .concat, .softmax,
            .crossEntropy, .custom:
            false
        }
    }

    /// The output elements of one forward work unit when the units are rows
    /// of the output (a matrix product: `n` per row), 1 when they are the
    /// elements; `nil` when units are neither (a chain cannot follow them).
    /// A product with rows shorter than 16 elements (a matrix–vector
    /// product) roots no chain: the epilogue would save nothing there, and
    /// S4 (n = 1) measured 5% slower with it.
    var elementsPerForwardUnit: Int? {
        if forwardUnitsAreElements { return 1 }
        if case .matmul(let g) = self, g.n >= 16 { return g.n }
        return nil
    }

    /// Whether a gradient flows to argument `slot` (not to class labels).
    func hasGradient(slot: Int) -> Bool {
        if case .crossEntropy = self { return slot == 0 }
        return true
    }

    /// The VJP's work units for argument `slot`, whose value has `n`
    /// elements, and the estimated cost of one.
    func vjpUnits(slot: Int, inputCount n: Int) -> (units: Int, cost: Int) {
        switch self {
        case .leaf: (0, 0)
        case .copy, .concat, .transpose, .slice: (n, 1)
        case .unary(let f): (n, Self.unaryCost(f))
        case .binary(_, let b), .sigmoidCrossEntropy(let b):
            (n, 2 * (slot == 0 ? b.summedA.count : b.summedB.count))
        case .matmul(let g):
            // A destination row sums over every batch when its operand is shared.
            slot == 0
                ? (
                    MatmulKernels.vjpRows(g, slot: 0),
                    Self.productCost(g.n * g.k * (g.aBatched ? 1 : g.batch))
                )
                : (
                    MatmulKernels.vjpRows(g, slot: 1),
                    Self.productCost(g.m * g.n * (g.bBatched ? 1 : g.batch))
                )
        case .reduce: (n, 1)
        case .broadcast(_, let summed, _): (n, summed.count)
        case .softmax(let view, _): (view.outer * view.inner, 2 * view.length)
        case .crossEntropy(let examples, let classes): (examples, 2 * Self.transcendental * classes)
        case .custom: (1, 20 * n)
        }
    }

    /// Which values the VJP reads: the parents' (`inputs`) and the node's own (`output`).
    var vjpReads: (inputs: Bool, output: Bool) {
        switch self {
        case .leaf, .copy, .transpose, .broadcast, .slice, .concat: (false, false)
        case .unary(let f):
            switch f {
            case .neg: (false, false)
            case .exp, .tanh, .sigmoid, .relu: (false, true)
            case .log, .pow, .sin, .cos, .abs: (true, false)
            case .sqrt: (false, true)
            }
        case .binary(let f, _):
            switch f {
            case .add, .sub: (false, false)
            case .mul: (true, false)
            case .div: (true, true)
            }
        case .matmul: (true, false)
        case .crossEntropy, .sigmoidCrossEntropy, .custom: (true, true)
        case .reduce(let r, _): (r == .max, r == .max)
        case .softmax: (false, true)
        }
    }

    /// Whether the node needs per-output scratch that survives into the backward pass.
    var needsAux: Bool {
        if case .reduce(.max, _) = self { return true }
        return false
    }

    /// Computes forward work units `r` of the node's value.
    func forward<T>(_ io: KernelIO<T>, _ r: Range<Int>, useBLAS: Bool) throws(KernelFailure) {
        switch self {
        case .leaf: break
        case .copy: MovementKernels.copyForward(io, r)
        case .unary(let f): ElementwiseKernels.unaryForward(f, io, r)
        case .binary(let f, let b): ElementwiseKernels.binaryForward(f, b, io, r)
        case .matmul(let g): MatmulKernels.forward(g, io, r, useBLAS: useBLAS)
        case .reduce(let red, let geo): ReductionKernels.forward(red, geo, io, r)
        case .transpose(let gather, _), .broadcast(let gather, _, _),
            .slice(let gather, _, _, _, _, _):
            let y = io.y
            MovementKernels.gather(gather, from: io.x(0), r) { y[$0] = $1 }
        case .concat(let c): MovementKernels.concatForward(c, io, r)
        case .softmax(let view, let log): LossKernels.softmaxForward(view, log: log, io, r)
        case .crossEntropy(_, let classes):
            try LossKernels.crossEntropyForward(classes: classes, io, r)
        case .sigmoidCrossEntropy(let b): LossKernels.sigmoidCrossEntropyForward(b, io, r)
        case .custom(let op, let inputs, let output):
            let x = (0..<inputs.count).map { k in
                Tensor(
                    uncheckedShape: inputs[k],
                    scalars: Array(UnsafeBufferPointer(start: io.x(k), count: inputs[k].count)))
            }
            let y: Tensor<T>
            do throws(ExecutionError) {
                y = try op.checkedForward(x, shape: output, node: "")
            } catch { throw .custom(error) }
            _ = UnsafeMutableBufferPointer(start: io.y, count: output.count).initialize(
                from: y.scalars)
        }
    }

    /// Computes VJP work units `r` of argument `slot`'s contribution into `t`.
    /// (Custom ops compute all arguments at once: see ``customVJP(_:g:)``.)
    func vjp<T>(slot: Int, _ io: KernelIO<T>, _ t: VJPTarget<T>, _ r: Range<Int>, useBLAS: Bool) {
        switch self {
        case .leaf, .custom: break
        case .copy: MovementKernels.copyVJP(t, r)
        case .unary(let f): ElementwiseKernels.unaryVJP(f, io, t, r)
        case .binary(let f, let b): ElementwiseKernels.binaryVJP(f, b, slot: slot, io, t, r)
        case .matmul(let g): MatmulKernels.vjp(g, slot: slot, io, t, r, useBLAS: useBLAS)
        case .reduce(let red, let geo): ReductionKernels.vjp(red, geo, io, t, r)
        case .transpose(_, let back):
            MovementKernels.gather(back, from: t.g, r) { t.store($0, $1) }
        case .broadcast(let gather, let summed, let input):
            MovementKernels.broadcastVJP(
                summed: summed, input: input, gStrides: gather.out.strides, t, r)
        case .slice(_, let input, let axis, let start, let end, let gStrides):
            MovementKernels.sliceVJP(
                input: input, axis: axis, start: start, end: end, gStrides: gStrides, t, r)
        case .concat(let c): MovementKernels.concatVJP(c, slot: slot, t, r)
        case .softmax(let view, let log): LossKernels.softmaxVJP(view, log: log, io, t, r)
        case .crossEntropy(_, let classes): LossKernels.crossEntropyVJP(classes: classes, io, t, r)
        case .sigmoidCrossEntropy(let b):
            LossKernels.sigmoidCrossEntropyVJP(b, slot: slot, io, t, r)
        }
    }

    /// A custom op's VJP for all arguments, checked against its contract.
    func customVJP<T>(_ io: KernelIO<T>, g: UnsafePointer<T>) throws(KernelFailure) -> [Tensor<T>?]
    {
        guard case .custom(let op, let inputs, let output) = self else { return [] }
        let x = (0..<inputs.count).map { k in
            Tensor(
                uncheckedShape: inputs[k],
                scalars: Array(UnsafeBufferPointer(start: io.x(k), count: inputs[k].count)))
        }
        let y = Tensor(
            uncheckedShape: output,
            scalars: Array(UnsafeBufferPointer(start: io.y, count: output.count)))
        let cot = Tensor(
            uncheckedShape: output,
            scalars: Array(UnsafeBufferPointer(start: g, count: output.count)))
        do throws(ExecutionError) {
            return try op.checkedVJP(inputs: x, output: y, cotangent: cot, node: "")
        } catch { throw .custom(error) }
    }
}
