import BackpropWorkloads
import Foundation
import Testing

@testable import Backprop

/// Checkpoints: exact round trips (parameters and optimizer state), the
/// documented bytes, and every kind of bad file rejected with its error —
/// never loaded into wrong weights.
@Suite struct CheckpointTests {
    /// An MLP trained for a few steps with `optimizer`.
    static func trainedMLP(_ optimizer: Optimizer, steps: Int = 3) throws -> Execution<Float> {
        var options = PlanOptions()
        options.optimizer = optimizer
        let model = Model<Float>.mlp(layers: [2, 16, 3], seed: 4)
        let execution = try Execution(
            plan: Plan(try model.trainingGraph(batch: 8), options: options))
        let data = Workloads.spirals(classes: 3, samplesPerClass: 16)
        let (x, y) = (data.x.map(Float.init), data.labels.map(Float.init))
        for s in 0..<steps {
            try execution.setInput("x", from: x[(s * 16)..<((s + 1) * 16)])
            try execution.setInput("y", from: y[(s * 8)..<((s + 1) * 8)])
            try execution.step()
        }
        return execution
    }

    static func logistic(features: Int, optimizer: Optimizer? = .sgd(learningRate: 0.1)) throws
        -> Execution<Double>
    {
        var options = PlanOptions()
        options.optimizer = optimizer
        let model = Model<Double>.logisticRegression(features: features)
        return try Execution(plan: Plan(try model.trainingGraph(batch: 4), options: options))
    }

    @Test(arguments: [Optimizer.adam(learningRate: 0.01), .sgd(learningRate: 0.1, momentum: 0.9)])
    func roundTripIsExact(optimizer: Optimizer) throws {
        let original = try Self.trainedMLP(optimizer)
        let checkpoint = original.checkpoint()
        #expect(checkpoint.parameters.map(\.name) == ["W1", "b1", "W2", "b2"])
        #expect(checkpoint.optimizerState?.stepCount == 3)
        let decoded = try Checkpoint<Float>(decoding: checkpoint.encoded())
        #expect(decoded == checkpoint)

        // Through a file, into a fresh execution: the same bits, and the
        // same next step (the optimizer state came along).
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("checkpoint-\(UUID().uuidString).bpck").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try checkpoint.write(to: path)
        let restored = try Self.trainedMLP(optimizer, steps: 0)
        try restored.restore(Checkpoint(contentsOf: path))
        #expect(restored.stepCount == 3)
        for (name, value) in original.parameters {
            #expect(restored.parameter(name)!.isBitwiseEqual(to: value), "\(name)")
        }
        for execution in [original, restored] {
            try execution.setInput(
                "x", from: [0.1, 0.2, -0.3, 0.4, 0, 1, 1, 0, 0.5, 0.5, 0, 0, 1, 1, -1, -1][...])
            try execution.setInput("y", from: [0, 1, 2, 0, 1, 2, 0, 1][...])
            try execution.step()
        }
        for (name, value) in original.parameters {
            #expect(restored.parameter(name)!.isBitwiseEqual(to: value), "\(name) after a step")
        }
    }

    @Test func parametersOnlyAndInference() throws {
        let trained = try Self.trainedMLP(.adam(learningRate: 0.01))
        let bare = trained.checkpoint(includingOptimizerState: false)
        #expect(bare.optimizerState == nil)
        // Into a training plan: parameters, and the optimizer starts afresh.
        let resumed = try Self.trainedMLP(.adam(learningRate: 0.01), steps: 1)
        try resumed.restore(bare)
        #expect(resumed.parameters == trained.parameters && resumed.stepCount == 0)
        // Into a forward-only scoring plan: the optimizer state is ignored.
        let model = Model<Float>.mlp(layers: [2, 16, 3], seed: 9)
        let scoring = try Execution(plan: Plan(try model.scoringGraph(batch: 5)))
        try scoring.restore(trained.checkpoint())
        #expect(scoring.parameters == trained.parameters)
    }

    /// The bytes of a one-parameter checkpoint, as docs/training.md lays them out.
    @Test func encodingIsTheDocumentedFormat() throws {
        let w = try Tensor<Double>(shape: [2, 1], scalars: [0.5, -2])
        let bytes = Checkpoint(parameters: [NamedTensor(name: "w", value: w)]).encoded()
        var expected: [UInt8] = [0x89, 0x42, 0x50, 0x43, 0x4B, 0x0D, 0x0A, 0x1A]  // signature
        expected += [1, 0, 0, 0]  // version 1
        expected += [2, 0, 0, 0]  // float64, no optimizer state, reserved
        expected += [42, 0, 0, 0, 0, 0, 0, 0]  // payload length
        expected += [1, 0, 0, 0]  // one parameter
        expected += [1, 0, 0, 0, 0x77]  // name "w"
        expected += [2, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]  // rank 2: [2, 1]
        expected += [0, 0, 0, 0, 0, 0, 0xE0, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0xC0]  // 0.5, -2.0
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in expected { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
        expected += withUnsafeBytes(of: h.littleEndian) { Array($0) }
        #expect(bytes == expected)
        #expect(try Checkpoint<Double>(decoding: expected).parameter("w") == w)
    }

    @Test func everyFlippedBitIsRejected() throws {
        let bytes = try Self.logistic(features: 3).checkpoint().encoded()
        for k in bytes.indices {
            for bit in [0, 7] {
                var corrupt = bytes
                corrupt[k] ^= UInt8(1 << bit)
                #expect(throws: CheckpointError.self, "byte \(k) bit \(bit)") {
                    try Checkpoint<Double>(decoding: corrupt)
                }
            }
        }
        var payload = bytes
        payload[40] ^= 1
        #expect(throws: CheckpointError.self) { try Checkpoint<Double>(decoding: payload) }
        do {
            _ = try Checkpoint<Double>(decoding: payload)
        } catch {
            guard case .checksumMismatch = error else {
                Issue.record("\(error)")
                return
            }
        }
    }

    @Test func truncatedFilesAreRejected() throws {
        let bytes = try Self.trainedMLP(.adam()).checkpoint().encoded()
        for length in [0, 5, 8, 20, 24, 100, bytes.count / 2, bytes.count - 8, bytes.count - 1] {
            let prefix = Array(bytes[0..<length])
            let expected: CheckpointError =
                length < 8
                ? .notACheckpoint
                : .truncated(expectedBytes: length < 24 ? 24 : bytes.count, actualBytes: length)
            #expect(throws: expected) { try Checkpoint<Float>(decoding: prefix) }
        }
        #expect(throws: CheckpointError.malformed("1 byte after the checksum")) {
            try Checkpoint<Float>(decoding: bytes + [0])
        }
    }

    @Test func headerErrors() throws {
        let bytes = try Self.logistic(features: 2).checkpoint().encoded()
        #expect(throws: CheckpointError.notACheckpoint) {
            try Checkpoint<Double>(decoding: Array(#"{"w": [1, 2]}"#.utf8))
        }
        var version = bytes
        version[8] = 2
        #expect(throws: CheckpointError.unsupportedVersion(found: 2, supported: 1)) {
            try Checkpoint<Double>(decoding: version)
        }
        #expect(throws: CheckpointError.dtypeMismatch(expected: .float32, found: .float64)) {
            try Checkpoint<Float>(decoding: bytes)
        }
        #expect(throws: CheckpointError.self) {
            try Checkpoint<Double>(contentsOf: "/nonexistent/dir/model.bpck")
        }
        do {
            _ = try Checkpoint<Double>(contentsOf: "/nonexistent/dir/model.bpck")
        } catch {
            #expect("\(error)".hasPrefix("/nonexistent/dir/model.bpck: "), "\(error)")
        }
    }

    /// Bytes that pass the checksum but break the format: what a buggy
    /// writer (not a damaged file) would produce.
    @Test func malformedPayloadsAreRejected() throws {
        let bytes = try Self.logistic(features: 2).checkpoint().encoded()
        func resealed(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            var b = Array(bytes.dropLast(8))
            edit(&b)
            let h = FNV1a64.hash(b)
            return b + withUnsafeBytes(of: h.littleEndian) { Array($0) }
        }
        // Byte 33 is the parameter's rank (after its one-byte name "w").
        #expect(throws: CheckpointError.malformed("'w' has rank 9, at most 4 is supported")) {
            try Checkpoint<Double>(decoding: resealed { $0[33] = 9 })
        }
        #expect(throws: CheckpointError.malformed("'w' has a dimension of 0")) {
            try Checkpoint<Double>(decoding: resealed { $0[34] = 0 })
        }
        #expect(throws: CheckpointError.malformed("a name is not valid UTF-8")) {
            try Checkpoint<Double>(decoding: resealed { $0[32] = 0xFF })
        }
        #expect(throws: CheckpointError.malformed("reserved header bits are set")) {
            try Checkpoint<Double>(decoding: resealed { $0[13] = 2 })
        }
        // Flags without optimizer state, over a payload that has it.
        #expect(throws: CheckpointError.malformed("46 unread bytes in the payload")) {
            try Checkpoint<Double>(decoding: resealed { $0[13] = 0 })
        }
        // A payload that ends inside the optimizer section.
        #expect(throws: CheckpointError.malformed("a field runs past the end of the payload")) {
            try Checkpoint<Double>(
                decoding: resealed {
                    $0.removeLast(40)
                    $0[16] -= 40
                })
        }
    }

    @Test func mismatchedCheckpointsChangeNothing() throws {
        let execution = try Self.logistic(features: 3)
        try execution.setInput("w", Tensor(shape: [3, 1], scalars: [1, 2, 3]))
        let before = execution.parameters
        #expect(
            throws: CheckpointError.shapeMismatch(parameter: "w", expected: [3, 1], found: [4, 1])
        ) {
            try execution.restore(Self.logistic(features: 4).checkpoint())
        }
        let mlp = try Self.trainedMLP(.adam())
        #expect(throws: CheckpointError.missingParameter("w")) {
            try execution.restore(
                Checkpoint(
                    parameters: mlp.checkpoint().parameters.map {
                        NamedTensor(name: $0.name, value: $0.value.converted(to: Double.self))
                    }))
        }
        var extra = try Self.logistic(features: 3).checkpoint()
        extra.parameters.append(NamedTensor(name: "b", value: Tensor(1.0)))
        #expect(throws: CheckpointError.unexpectedParameter("b")) { try execution.restore(extra) }
        #expect(throws: CheckpointError.optimizerMismatch(expected: "sgd", found: "adam")) {
            try execution.restore(Self.logistic(features: 3, optimizer: .adam()).checkpoint())
        }
        #expect(execution.parameters == before)
        // Parameters only: the optimizer state is not looked at.
        try execution.restore(
            Self.logistic(features: 3, optimizer: .adam()).checkpoint(),
            includingOptimizerState: false)
        #expect(execution.parameter("w") == .zeros([3, 1]))
    }
}
