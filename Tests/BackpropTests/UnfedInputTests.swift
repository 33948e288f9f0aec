import Foundation
import Testing

@testable import Backprop

/// Note [Unfed inputs]: an input without a default value that was never fed
/// stops `run` and `step` with the error `ReferenceExecutor` throws, instead
/// of being read as zeros; every way of feeding one clears it.
@Suite struct UnfedInputTests {
    static let model = Model<Float>.mlp(layers: [2, 4, 3], activation: .tanh, seed: 3)
    static let batch = 4
    static let x: [Float] = [0.5, -1, 0.25, 2, -0.75, 1.5, 1, -0.5]
    static let y: [Float] = [0, 2, 1, 2]

    static func training() throws -> Execution<Float> {
        let graph = try model.trainingGraph(batch: batch)
        return try Execution(
            plan: Plan(graph, options: PlanOptions(optimizer: .sgd(learningRate: 0.1))))
    }

    /// The user's report: `step()` on a `Model`'s training graph with `x`
    /// and `y` never set. Now it throws, naming `x`, then `y` once `x` is
    /// fed, and leaves the weights and the step count as they were.
    @Test func stepThrowsForEachUnfedInputAndChangesNothing() throws {
        let execution = try Self.training()
        let before = Self.model.parameterNames.map { execution.parameter($0)!.scalars }
        #expect(throws: GraphError.missingValue(node: "x")) { try execution.step() }
        #expect(throws: GraphError.missingValue(node: "x")) { try execution.run() }
        try execution.setInput("x", from: Self.x[...])
        #expect(throws: GraphError.missingValue(node: "y")) { try execution.step() }
        #expect(Self.model.parameterNames.map { execution.parameter($0)!.scalars } == before)
        #expect(execution.stepCount == 0)
        try execution.setInput("y", Tensor(shape: [Self.batch], scalars: Self.y))
        try execution.step()
        #expect(execution.stepCount == 1)
        #expect(Self.model.parameterNames.map { execution.parameter($0)!.scalars } != before)
    }

    /// The same graph through `ReferenceExecutor` throws the same error,
    /// and once fed, the runtime's loss is the reference's.
    @Test func runMatchesTheReferenceExecutorBeforeAndAfterFeeding() throws {
        let graph = try Self.model.trainingGraph(batch: Self.batch)
        let execution = try Execution(plan: Plan(graph, options: PlanOptions(gradients: false)))
        #expect(throws: GraphError.missingValue(node: "x")) {
            _ = try ReferenceExecutor().forward(graph)
        }
        #expect(throws: GraphError.missingValue(node: "x")) { try execution.run() }
        let feeds = [
            "x": try Tensor<Float>(shape: [Self.batch, 2], scalars: Self.x),
            "y": try Tensor<Float>(shape: [Self.batch], scalars: Self.y),
        ]
        for (name, value) in feeds { try execution.setInput(name, value) }
        try execution.run()
        let reference = try ReferenceExecutor().forward(graph, inputs: feeds).output
        #expect(execution.output == reference)
        #expect(execution.output.scalars[0] > 0)
    }

    /// Binding an input to the caller's memory feeds it too; an input with
    /// a default value never needs feeding, nor one the output does not
    /// depend on.
    @Test func bindingFeedsAndDefaultsNeedNoFeeding() throws {
        let b = GraphBuilder<Float>()
        let x = b.input("x", shape: [3])
        let s = b.input("s", try Tensor(shape: [3], scalars: [1, 2, 3]))
        _ = b.input("unused", shape: [2]).exp()
        let graph = try b.build(output: (x * s).sum())
        let execution = try Execution(plan: Plan(graph, options: PlanOptions(scalarTape: false)))
        #expect(throws: GraphError.missingValue(node: "x")) { try execution.run() }
        let values: [Float] = [4, 5, 6]
        try values.withUnsafeBufferPointer { try execution.bindInput("x", toUnsafeBuffer: $0) }
        try values.withUnsafeBufferPointer { _ in try execution.run() }
        #expect(execution.output.scalars == [32])
    }

    /// A scalar graph runs as a tape (Note [Scalar tape]); the check is the
    /// same there.
    @Test func scalarTapeRefusesAnUnfedInput() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", shape: [])
        let w = b.parameter("w", Tensor(2))
        let graph = try b.build(output: (x * w).exp())
        let execution = try Execution(plan: Plan(graph))
        #expect(execution.plan.tables.tape != nil)
        #expect(throws: GraphError.missingValue(node: "x")) { try execution.run() }
        try execution.setInput("x", from: [0.5][...])
        try execution.run()
        #expect(execution.output.scalars == [Foundation.exp(1)])
        #expect(execution.gradient(of: "w")?.scalars == [0.5 * Foundation.exp(1)])
    }

    /// Parameters given by a checkpoint or copied from another execution
    /// count as fed (a parameter declared by shape only, as a graph file may).
    @Test func restoredAndCopiedParametersCountAsFed() throws {
        let text = """
            {"format": "backprop-graph", "version": 1, "dtype": "float64", "nodes": [
              {"name": "x", "op": "input", "shape": [2], "value": [1, 3]},
              {"name": "w", "op": "parameter", "shape": [2]},
              {"name": "p", "op": "mul", "inputs": ["x", "w"]},
              {"name": "s", "op": "sum", "inputs": ["p"]}],
             "output": "s"}
            """
        guard case .float64(let graph) = try GraphFile.load(json: text) else {
            Issue.record("the file is float64")
            return
        }
        let options = PlanOptions(scalarTape: false)
        let fresh = try Execution(plan: Plan(graph, options: options))
        #expect(throws: GraphError.missingValue(node: "w")) { try fresh.run() }
        try fresh.setInput("w", Tensor(shape: [2], scalars: [2, -1]))
        try fresh.run()
        #expect(fresh.output.scalars == [-1])

        let copied = try Execution(plan: Plan(graph, options: options))
        try copied.copyParameters(from: fresh)
        try copied.run()
        #expect(copied.output.scalars == [-1])

        let restored = try Execution(plan: Plan(graph, options: options))
        try restored.restore(fresh.checkpoint())
        try restored.run()
        #expect(restored.output.scalars == [-1])
    }
}
