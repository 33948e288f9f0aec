import Backprop
import Foundation

/// One row of `backprop bench kernels`: a kernel, an element type, a
/// thread count, and what it achieved.
public struct KernelMeasurement: Sendable {
    /// `exp`, `tanh`, …, `copy`, or `matmul 128x784x512`.
    public var kernel: String
    /// `forward`, or `forward+vjp` (a pass with the backward kernel too).
    public var pass: String
    public var dtype: DType
    public var threads: Int
    /// The median time of one repetition, in nanoseconds.
    public var nanoseconds: Double
    /// Elementwise kernels: elements per second, and that speed as a
    /// fraction of a plain copy's (which reads and writes as much).
    public var elementsPerSecond: Double?
    public var copyFraction: Double?
    /// Matrix products: GFLOP/s (2·m·n·k per product), and whether OpenBLAS ran it.
    public var gigaflops: Double?
    public var blas: Bool?
}

extension WorkloadBench {
    /// The elementwise functions `bench kernels` times, with the interval
    /// their inputs are drawn from.
    static let kernelFunctions: [(name: String, f: UnaryFunction, domain: ClosedRange<Double>)] = [
        ("exp", .exp, -5...5), ("log", .log, 0.1...10), ("tanh", .tanh, -5...5),
        ("sigmoid", .sigmoid, -5...5), ("sin", .sin, -5...5), ("cos", .cos, -5...5),
        ("sqrt", .sqrt, 0.1...10), ("pow 1.7", .pow(1.7), 0.1...10),
    ]

    /// The matrix products of S2's training step: the three forward
    /// products (m, k, n); their VJPs give the Aᵀ·B and A·Bᵀ layouts.
    static let kernelProducts: [(m: Int, k: Int, n: Int)] = [
        (128, 784, 512), (128, 512, 512), (128, 512, 10),
    ]

    /// Times the kernels on `runtime`, through plans as a graph would run
    /// them: each elementwise function forward, and forward with its VJP, over 2^20
    /// elements (2^16 with `quick`), a copy over as many for comparison,
    /// and S2's matrix products forward and backward (m and k quartered
    /// with `quick`), with and without OpenBLAS.
    public func measureKernels(on runtime: Runtime) throws -> [KernelMeasurement] {
        var rows: [KernelMeasurement] = []
        rows += try elementwiseKernels(Float.self, on: runtime)
        rows += try elementwiseKernels(Double.self, on: runtime)
        // With `quick`, a quarter of each extent (a smoke test).
        let products = Self.kernelProducts.map { quick ? ($0.m / 4, $0.k / 4, $0.n) : $0 }
        for product in products {
            for useBLAS in Runtime.blasFound ? [true, false] : [false] {
                rows += try matrixProduct(product, useBLAS: useBLAS, on: runtime)
            }
        }
        return rows
    }

    private func elementwiseKernels<T: TensorElement>(_: T.Type, on runtime: Runtime) throws
        -> [KernelMeasurement]
    {
        let n = quick ? 1 << 16 : 1 << 20
        var generator = WorkloadGenerator(seed: 23)
        func row(_ kernel: String, _ pass: String, _ nanoseconds: Double) -> KernelMeasurement {
            KernelMeasurement(
                kernel: kernel, pass: pass, dtype: T.dtype, threads: runtime.threads,
                nanoseconds: nanoseconds, elementsPerSecond: Double(n) / nanoseconds * 1e9)
        }
        // Forward only, then forward + backward (the VJP is the difference).
        func median(
            _ f: (GraphBuilder<T>, Node<T>) -> Node<T>, domain: ClosedRange<Double>, gradients: Bool
        )
            throws -> Double
        {
            let values = (0..<n).map { _ in
                T(generator.uniform(domain.lowerBound, domain.upperBound))
            }
            let b = GraphBuilder<T>()
            let x = b.input("x", try Tensor(shape: [n], scalars: values))
            let plan = Plan(
                try b.build(output: f(b, x), simplify: false),
                options: PlanOptions(gradients: gradients))
            let execution = try Execution(plan: plan, runtime: runtime)
            return time { try! execution.run(on: runtime) }.sorted()[repetitions / 2]
        }
        let copy = try median({ $1.reshaped([n]) }, domain: -1...1, gradients: false)
        var rows = [row("copy", "forward", copy)]
        rows[0].copyFraction = 1
        for (name, f, domain) in Self.kernelFunctions {
            let forward = try median(
                { $0.apply(.unary(f), [$1]) }, domain: domain, gradients: false)
            let both = try median({ $0.apply(.unary(f), [$1]) }, domain: domain, gradients: true)
            var r = row(name, "forward", forward)
            r.copyFraction = copy / forward
            rows.append(r)
            // The whole pass, with the backward one (the output's gradient
            // seeded, then the VJP): subtracting timings would be noise.
            rows.append(row(name, "forward+vjp", both))
        }
        return rows
    }

    private func matrixProduct(
        _ s: (m: Int, k: Int, n: Int), useBLAS: Bool, on runtime: Runtime
    ) throws -> [KernelMeasurement] {
        var generator = WorkloadGenerator(seed: 29)
        func tensor(_ rows: Int, _ columns: Int) throws -> Tensor<Float> {
            try Tensor(
                shape: [rows, columns],
                scalars: (0..<(rows * columns)).map { _ in Float(generator.uniform(-1, 1)) })
        }
        let b = GraphBuilder<Float>()
        let a = b.input("a", try tensor(s.m, s.k))
        let w = b.input("w", try tensor(s.k, s.n))
        let graph = try b.build(output: a.matmul(w), simplify: false)
        func median(gradients: Bool) throws -> Double {
            let plan = Plan(graph, options: PlanOptions(gradients: gradients, useBLAS: useBLAS))
            let execution = try Execution(plan: plan, runtime: runtime)
            return time { try! execution.run(on: runtime) }.sorted()[repetitions / 2]
        }
        let forward = try median(gradients: false)
        let both = try median(gradients: true)
        // Forward A·B; backward g·Wᵀ (A·Bᵀ) and Aᵀ·g: three products.
        let flops = 2 * Double(s.m * s.k * s.n)
        let name = "matmul \(s.m)x\(s.k)x\(s.n)"
        return [("forward", forward, flops), ("forward+vjp", both, 3 * flops)].map {
            pass, ns, flops in
            KernelMeasurement(
                kernel: name, pass: pass, dtype: .float32, threads: runtime.threads,
                nanoseconds: ns, gigaflops: flops / ns, blas: useBLAS)
        }
    }
}
