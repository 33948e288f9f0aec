import Foundation
import Testing

/// `backprop train`, run as a process: text and JSON reports, identical
/// results at any thread count, checkpoints saved and loaded, and errors.
/// Small data sets keep debug builds quick.
@Suite struct TrainCommandTests {
    static let smallLogreg = ["train", "logreg", "--samples", "2048", "--features", "16"]
    static let smallMLP = ["train", "mlp", "--samples", "384", "--hidden", "16", "--batch", "32"]

    static func json(_ r: CLI.Result) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)")
    }

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("train-\(UUID().uuidString)-\(name)").path
    }

    @Test func logisticRegressionJSON() throws {
        let r = try CLI.run(Self.smallLogreg + ["--epochs", "2", "--json"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr == "")
        #expect(r.stdout.split(separator: "\n").count == 1)
        let report = try Self.json(r)
        #expect(report["model"] as? String == "logreg")
        #expect(report["dtype"] as? String == "float64")
        let epochs = try #require(report["epochs"] as? [[String: Any]])
        #expect(epochs.map { $0["epoch"] as? Int } == [1, 2])
        let losses = epochs.compactMap { $0["loss"] as? Double }
        #expect(losses.count == 2 && losses[1] < losses[0])
        #expect((report["accuracy"] as? Double ?? 0) > 0.9)
        #expect(report["loss"] as? Double == losses[1])
        #expect((report["optimizer"] as? [String: Any])?["name"] as? String == "sgd")
    }

    @Test func mlpText() throws {
        let r = try CLI.run(Self.smallMLP + ["--epochs", "3"])
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 5, "\(r)")
        #expect(lines[0].hasPrefix("mlp 2-16-3 (relu), 384 spiral points in 3 classes; batch 32"))
        for (k, line) in lines[1...3].enumerated() {
            #expect(line.hasPrefix("epoch \(k + 1)/3: loss "), "\(line)")
            #expect(line.contains(", accuracy ") && line.hasSuffix(" ms"), "\(line)")
        }
        #expect(lines[4].hasPrefix("final: loss ") && lines[4].hasSuffix(" of 384)"), "\(r)")
        // Not a terminal: no live progress line (and the run is shorter than
        // the 5 s between plain progress lines).
        #expect(!r.stderr.contains("\r"))
    }

    @Test func resultsDoNotDependOnThreads() throws {
        let one = try Self.json(
            CLI.run(Self.smallMLP + ["--epochs", "2", "--threads", "1", "--json"]))
        let two = try Self.json(
            CLI.run(Self.smallMLP + ["--epochs", "2", "--threads", "2", "--json"]))
        #expect(one["threads"] as? Int == 1 && two["threads"] as? Int == 2)
        #expect(one["loss"] as? Double == two["loss"] as? Double)
        #expect(one["accuracy"] as? Double == two["accuracy"] as? Double)
    }

    @Test func saveThenLoad() throws {
        let path = Self.temporaryPath("mlp.bpck")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let trained = try CLI.run(Self.smallMLP + ["--epochs", "2", "--save", path, "--json"])
        #expect(trained.status == 0, "\(trained)")
        #expect(try Self.json(trained)["saved"] as? String == path)

        // Evaluating the loaded parameters gives the saved run's figures.
        let loaded = try CLI.run(Self.smallMLP + ["--epochs", "0", "--load", path, "--json"])
        #expect(loaded.status == 0, "\(loaded)")
        let (a, b) = (try Self.json(trained), try Self.json(loaded))
        #expect(a["loss"] as? Double == b["loss"] as? Double)
        #expect((b["epochs"] as? [Any])?.isEmpty == true)

        // Two more epochs from the checkpoint (optimizer state included) equal
        // four epochs in one go.
        let resumed = try CLI.run(Self.smallMLP + ["--epochs", "2", "--load", path, "--json"])
        let straight = try CLI.run(Self.smallMLP + ["--epochs", "4", "--json"])
        #expect(try Self.json(resumed)["loss"] as? Double == Self.json(straight)["loss"] as? Double)

        let text = try CLI.run(Self.smallMLP + ["--epochs", "0", "--load", path])
        #expect(text.stdout.contains("loaded \(path)\n"), "\(text)")
    }

    @Test func badCheckpointsAreErrors() throws {
        let path = Self.temporaryPath("logreg.bpck")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try CLI.run(Self.smallLogreg + ["--epochs", "1", "--save", path]).status == 0)

        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let cases: [(arguments: [String], message: String)] = [
            (
                Self.smallMLP + ["--dtype", "float64", "--load", path],
                "checkpoint has no parameter 'W1'"
            ),
            (
                ["train", "logreg", "--samples", "64", "--features", "8", "--load", path],
                "has shape [16, 1], the graph's has shape [8, 1]"
            ),
            (Self.smallLogreg + ["--dtype", "float32", "--load", path], "holds float64 values"),
            (
                Self.smallLogreg + ["--load", path + ".missing"],
                "error: --load \(path).missing: No such file or directory"
            ),
        ]
        for (arguments, message) in cases {
            let r = try CLI.run(arguments)
            #expect(r.status == 2, "\(r)")
            #expect(r.stdout == "")
            #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("error: "), "\(r)")
            #expect(r.stderr.contains(message), "\(r)")
        }
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let corrupt = try CLI.run(Self.smallLogreg + ["--load", path])
        #expect(corrupt.status == 2)
        #expect(
            corrupt.stderr.hasPrefix("error: --load \(path): checkpoint is corrupt"), "\(corrupt)")
        try Data(bytes.prefix(100)).write(to: URL(fileURLWithPath: path))
        let truncated = try CLI.run(Self.smallLogreg + ["--load", path])
        #expect(truncated.stderr.contains("checkpoint is truncated: 100 bytes"), "\(truncated)")
    }

    @Test(
        arguments: [
            (["train", "svm"], "unknown model 'svm': expected logreg or mlp"),
            (
                ["train", "logreg", "--optimizer", "rmsprop"],
                "--optimizer: 'rmsprop' is not sgd or adam"
            ),
            (["train", "logreg", "--lr=-1"], "--lr must be finite and ≥ 0, got -1.0"),
            (
                ["train", "logreg", "--momentum", "1"],
                "--momentum must be finite and in [0, 1), got 1.0"
            ),
            (["train", "mlp", "--momentum", "0.9"], "--momentum applies to --optimizer sgd"),
            (
                ["train", "logreg", "--batch", "0"],
                "--batch must be from 1 to the number of samples"
            ),
            (["train", "logreg", "--epochs=-1"], "--epochs must be from 0 to 1000000, got -1"),
            (
                ["train", "mlp", "--samples", "100", "--batch", "100"],
                "--batch must be from 1 to the number of samples (99), got 100"
            ),
            (["train", "mlp", "--hidden", "16,0"], "--hidden: '16,0' is not a list"),
            (["train", "mlp", "--activation", "gelu"], "--activation: 'gelu' is not relu or tanh"),
            (
                ["train", "logreg", "--dtype", "float16"],
                "--dtype: 'float16' is not float32 or float64"
            ),
            (["train", "logreg", "--threads", "0"], "--threads must be from 1 to 1024, got 0"),
            (["train"], "missing expected argument '<model>'"),
            (["train", "logreg", "--epochs", "two"], "--epochs"),
            (
                ["train", "logreg", "--save", "/nonexistent/dir/model.bpck"],
                "--save /nonexistent/dir/model.bpck: the directory /nonexistent/dir is not writable"
            ),
        ] as [([String], String)])
    func badInputIsOneErrorLine(arguments: [String], message: String) throws {
        let r = try CLI.run(arguments)
        #expect(r.status == 2, "\(r)")
        #expect(r.stdout == "")
        #expect(r.stderrLines.count == 1, "\(r)")
        #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(message), "\(r)")
    }
}
