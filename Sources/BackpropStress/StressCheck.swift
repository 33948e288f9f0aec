import Backprop
import Dispatch

/// What a stress check found wrong with one graph.
public struct StressFailure: Error, Sendable, CustomStringConvertible {
    /// The check that failed.
    public enum Check: String, Sendable {
        /// Results differ bitwise between thread counts or repeated runs.
        case determinism
        /// The runtime disagrees with the reference executor.
        case reference
        /// The reference gradient disagrees with central differences.
        case finiteDifference = "finite-difference"
        /// A run threw an error on a valid graph.
        case execution
        /// Resident memory grew beyond the bound (soak mode).
        case memory
    }
    public let check: Check
    /// One line: what differed, where.
    public let message: String
    /// The seed the graph was generated from.
    public let graphSeed: UInt64
    /// The graph that failed (absent for the memory check).
    public let graph: AnyGraph?
    /// The plan options the graph was compiled with.
    public let planOptions: PlanOptions

    public var description: String { "\(check.rawValue) check failed: \(message)" }
}

/// What checking one graph measured.
struct GraphCheckResult {
    var runs = 0
    /// Per thread count (same order as the options), the run latencies in ns.
    var latencies: [[UInt64]]
    var bytesPerRun = 0
    var checks: [StressFailure.Check: Int] = [:]
    var skippedFiniteDifferences = 0
    /// The bits of the output and the gradients (by input name) that every
    /// thread count agreed on.
    var digest = ResultDigest()
}

/// The checks of `backprop stress` for one graph.
struct GraphChecker<T: TensorElement> {
    let graph: Graph<T>
    let graphSeed: UInt64
    let options: StressOptions
    let runtimes: [Runtime]
    /// A test-only fault: perturb one gradient contribution at more than one thread.
    let injectFault: Bool

    func failure(_ check: StressFailure.Check, _ message: String) -> StressFailure {
        StressFailure(
            check: check, message: message, graphSeed: graphSeed, graph: wrap(),
            planOptions: planOptions)
    }

    func wrap() -> AnyGraph {
        if let g = graph as? Graph<Float> { return .float32(g) }
        return .float64(graph as! Graph<Double>)
    }

    /// How the graph is compiled: finely chunked (many tasks, partial
    /// buffers and joins even for small tensors) or with the defaults.
    let planOptions: PlanOptions

    static func planOptions(fine: Bool) -> PlanOptions {
        fine ? PlanOptions(grain: 64, inlineThreshold: 256, maxChunksPerNode: 16) : PlanOptions()
    }

    /// The first bit that differs between `baseline` and an output and
    /// gradients, described; `nil` when they are bitwise equal.
    static func firstResultDifference(
        _ baseline: (threads: Int, output: Tensor<T>, gradients: [String: Tensor<T>]),
        _ output: Tensor<T>, _ gradients: [String: Tensor<T>]
    ) -> String? {
        firstBitDifference(baseline.output, output, name: "output")
            ?? gradients.keys.sorted().lazy.compactMap({ name in
                firstBitDifference(
                    baseline.gradients[name]!, gradients[name]!, name: "gradient of '\(name)'")
            }).first
    }

    /// The same graph planned without fusion (Note [Fusion]) and with the
    /// backward pass fused too (Note [Fused backward]), each run once on
    /// the first runtime: neither may change a bit.
    func checkUnfused(
        against baseline: (threads: Int, output: Tensor<T>, gradients: [String: Tensor<T>])
    ) throws(StressFailure) {
        var unfusedOptions = planOptions
        unfusedOptions.fusion = false
        var blockOptions = planOptions
        blockOptions.fusedBackward = true
        for (name, options) in [("unfused", unfusedOptions), ("fused-backward", blockOptions)] {
            let execution: Execution<T>
            do {
                execution = try Execution(plan: Plan(graph, options: options))
                try execution.run(on: runtimes[0])
            } catch {
                throw failure(.execution, "\(name) plan: \(error)")
            }
            if let difference = Self.firstResultDifference(
                baseline, execution.output, execution.gradients)
            {
                throw failure(
                    .determinism, "\(difference) of the \(name) plan differs from the fused one")
            }
        }
    }

    func run() throws(StressFailure) -> GraphCheckResult {
        var result = GraphCheckResult(latencies: runtimes.map { _ in [] })
        let plan = Plan(graph, options: planOptions)
        result.bytesPerRun =
            (0..<graph.count).reduce(0) { $0 + graph.shape(of: $1).count } * 2
            * MemoryLayout<T>.stride
        var baseline: (threads: Int, output: Tensor<T>, gradients: [String: Tensor<T>])?
        for (index, runtime) in runtimes.enumerated() {
            let execution: Execution<T>
            do { execution = try Execution(plan: plan, runtime: runtime) } catch {
                throw failure(.execution, "\(error)")
            }
            for repeatIndex in 0..<options.repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                execution.injectsFault = injectFault
                do { try execution.run(on: runtime) } catch {
                    throw failure(.execution, "run at \(runtime.threads) threads: \(error)")
                }
                result.latencies[index].append(DispatchTime.now().uptimeNanoseconds - start)
                result.runs += 1
                let output = execution.output
                let gradients = execution.gradients
                if let baseline {
                    if let difference = Self.firstResultDifference(baseline, output, gradients) {
                        throw failure(
                            .determinism,
                            "\(difference) at \(runtime.threads) threads (run \(repeatIndex + 1)) "
                                + "differs from \(baseline.threads) thread\(baseline.threads == 1 ? "" : "s")"
                        )
                    }
                } else {
                    baseline = (runtime.threads, output, gradients)
                }
            }
        }
        guard let baseline else { return result }
        try checkUnfused(against: baseline)
        result.checks[.determinism] = 1
        result.digest.add(baseline.output)
        for name in baseline.gradients.keys.sorted() {
            result.digest.add(name)
            result.digest.add(baseline.gradients[name]!)
        }

        // The reference executor, in float64 whatever the graph's type: a
        // float32 reference summing long sequences accumulates more rounding
        // than the runtime's blocked sums, so it would be the worse oracle.
        let double: Graph<Double>
        let reference: GradientResult<Double>
        do {
            double = try graph.converted(to: Double.self)
            reference = try ReferenceExecutor().gradients(double)
        } catch {
            throw failure(.execution, "reference executor (float64): \(error)")
        }
        let tolerance = T.self == Double.self ? 1e-8 : 1e-3
        if let mismatch = Self.firstMismatch(
            reference.output, baseline.output, tolerance: tolerance, name: "output")
        {
            throw failure(.reference, mismatch)
        }
        for name in baseline.gradients.keys.sorted() {
            guard let expected = reference.gradients[name] else {
                throw failure(.reference, "the reference executor has no gradient of '\(name)'")
            }
            if let mismatch = Self.firstMismatch(
                expected, baseline.gradients[name]!, tolerance: tolerance,
                name: "gradient of '\(name)'")
            {
                throw failure(.reference, mismatch)
            }
        }
        result.checks[.reference] = 1

        // Finite differences in Double, at a few random elements.
        let (checked, skipped) = try finiteDifferences(double, analytic: reference)
        if checked > 0 { result.checks[.finiteDifference] = checked }
        result.skippedFiniteDifferences = skipped
        return result
    }

    /// Central differences of the float64 graph against its reference
    /// gradient at ``StressOptions/gradientChecks`` random elements. A point
    /// where the left and right differences disagree (a kink of relu, abs,
    /// max) is skipped, not failed.
    func finiteDifferences(_ double: Graph<Double>, analytic: GradientResult<Double>)
        throws(StressFailure) -> (checked: Int, skipped: Int)
    {
        guard options.gradientChecks > 0 else { return (0, 0) }
        let executor = ReferenceExecutor()
        let leaves = double.inputs.filter {
            double.outputDepends(on: $0) && double.op(of: $0).isDifferentiableLeaf
        }
        guard !leaves.isEmpty else { return (0, 0) }
        var rng = StressRandom(seed: graphSeed ^ 0x5EED_F1D0)
        var checked = 0, skipped = 0
        for _ in 0..<options.gradientChecks {
            let leaf = rng.pick(leaves)
            let name = double.name(of: leaf)
            guard let base = double.value(of: leaf), base.count > 0 else { continue }
            let k = rng.int(base.count)
            let x = base.scalars[k]
            let h = 1e-6 * Swift.max(1, Swift.abs(x))
            func f(_ value: Double) throws -> Double {
                var scalars = base.scalars
                scalars[k] = value
                let shifted = try Tensor(shape: base.shape, scalars: scalars)
                return try executor.forward(double, inputs: [name: shifted]).output.scalars[0]
            }
            let (minus, center, plus): (Double, Double, Double)
            do { (minus, center, plus) = (try f(x - h), try f(x), try f(x + h)) } catch {
                throw failure(.execution, "reference executor (float64): \(error)")
            }
            let central = (plus - minus) / (2 * h)
            let left = (center - minus) / h, right = (plus - center) / h
            let a = analytic.gradients[name]!.scalars[k]
            let scale = Swift.max(1, Swift.abs(a), Swift.abs(central))
            if Swift.abs(a - central) <= 1e-5 * scale {
                checked += 1
            } else if Swift.abs(left - right) > 1e-3
                * Swift.max(1, Swift.abs(left), Swift.abs(right))
                || !central.isFinite
            {
                skipped += 1  // not differentiable here
            } else {
                throw failure(
                    .finiteDifference,
                    "∂output/∂\(name)[\(k)] is \(a) by backpropagation but \(central) by central differences (h = \(h))"
                )
            }
        }
        return (checked, skipped)
    }

    /// Where two tensors first differ in their bits, or `nil`.
    static func firstBitDifference(_ a: Tensor<T>, _ b: Tensor<T>, name: String) -> String? {
        guard a.shape == b.shape else { return "\(name) has shape \(b.shape), not \(a.shape)" }
        guard !a.isBitwiseEqual(to: b) else { return nil }
        for k in 0..<a.count
        where !Tensor(a.scalars[k]).isBitwiseEqual(to: Tensor(b.scalars[k])) {
            return "\(name)[\(k)] = \(b.scalars[k]) (was \(a.scalars[k]))"
        }
        return "\(name) differs"
    }

    /// Where `actual` first leaves `expected` by more than
    /// `tolerance · (1 + max |expected|)`, or `nil`.
    static func firstMismatch(
        _ expected: Tensor<Double>, _ actual: Tensor<T>, tolerance: Double, name: String
    ) -> String? {
        guard expected.shape == actual.shape else {
            return "\(name) has shape \(actual.shape), the reference \(expected.shape)"
        }
        let scale = 1 + expected.scalars.reduce(0.0) { Swift.max($0, Swift.abs($1)) }
        for k in 0..<expected.count {
            let e = expected.scalars[k], a = Double(actual.scalars[k])
            if e.isNaN && a.isNaN { continue }
            if !(Swift.abs(e - a) <= tolerance * scale) {
                return "\(name)[\(k)] = \(a), the reference executor (float64) gives \(e)"
            }
        }
        return nil
    }
}
