import ArgumentParser
import Backprop
import BackpropWorkloads
import Foundation

/// `backprop train logreg|mlp`: minibatch training through the runtime —
/// the lecture's logistic regression on S4's data, or an MLP on spirals —
/// printing the loss per epoch and the final accuracy (docs/training.md).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train logistic regression (S4) or an MLP with minibatch SGD or Adam.",
        discussion: """
            logreg: the lecture's logistic regression f_w(x) = sigmoid(w.x) with the log loss, on \
            S4's synthetic data (65,536 samples of 256 features; labels from true weights \
            sin(k+1) plus noise). The defaults are S4: batch 64 in order, SGD with learning rate \
            0.1, one epoch, float64, seed 11.

            mlp: a multilayer perceptron (ReLU or tanh, softmax cross-entropy) on interleaved \
            spirals in the plane (3 classes of 512 points, shuffled once). Defaults: hidden \
            layers 64,64, Adam with learning rate 0.01, batch 64, 10 epochs, float32.

            Every epoch prints the mean training loss and accuracy over all samples after the \
            epoch, the mean of the minibatch losses seen during it, and the time of its steps \
            (the evaluation is not timed). Minibatches are taken in order; a last partial batch \
            is left out. Results are bitwise identical for any --threads.

            Examples:
              backprop train logreg
              backprop train mlp --epochs 20 --save spirals.bpck
              backprop train mlp --load spirals.bpck --epochs 0
              backprop train logreg --optimizer sgd --momentum 0.9 --lr 0.05 --json
            """)

    @Argument(help: ArgumentHelp("The model: logreg or mlp.", valueName: "model"))
    var model: String

    @Option(help: "Passes over the training set (0: evaluate only; default: logreg 1, mlp 10).")
    var epochs: Int?

    @Option(name: .customLong("lr"), help: "The learning rate (default: sgd 0.1, adam 0.01).")
    var learningRate: Double?

    @Option(help: "sgd or adam (default: logreg sgd, mlp adam).")
    var optimizer: String?

    @Option(help: "SGD momentum in [0, 1) (default 0).")
    var momentum: Double?

    @Option(help: "L2 weight decay (default 0).")
    var weightDecay: Double = 0

    @Option(help: "Examples per minibatch.")
    var batch = 64

    @Option(help: "The seed of the data (and of the MLP's weights) (default: logreg 11, mlp 1).")
    var seed: UInt64?

    @Option(help: "Training examples (default: logreg 65536, mlp 1536).")
    var samples: Int?

    @Option(help: "logreg: features per example.")
    var features = 256

    @Option(help: ArgumentHelp("mlp: hidden layer widths.", valueName: "list"))
    var hidden = "64,64"

    @Option(help: "mlp: relu or tanh.")
    var activation = "relu"

    @Option(help: "mlp: the number of classes (spiral arms).")
    var classes = 3

    @Option(help: "float32 or float64 (default: logreg float64, mlp float32).")
    var dtype: String?

    @OptionGroup(title: "Runtime options")
    var runtimeOptions: RuntimeOptions

    @Option(
        help: ArgumentHelp(
            "Write the trained parameters and optimizer state here.", valueName: "file"))
    var save: String?

    @Option(help: ArgumentHelp("Start from the parameters of this checkpoint.", valueName: "file"))
    var load: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws(CLIFailure) {
        let runtime = try runtimeOptions.runtime()
        let setup = try makeSetup()
        switch setup.dtype {
        case .float32: try train(Float.self, setup, runtime)
        case .float64: try train(Double.self, setup, runtime)
        }
    }

    // MARK: Options

    /// The validated options and the data set, in `Double`.
    struct Setup {
        var name: String
        var dtype: DType
        var epochs: Int
        var optimizer: Optimizer
        var batch: Int
        var layers: [Int]
        var activation: Model<Double>.Activation?
        var x: [Double]
        var y: [Double]
        var samples: Int
        var seed: UInt64
        var description: String
    }

    func makeSetup() throws(CLIFailure) -> Setup {
        let isMLP: Bool
        switch model {
        case "logreg": isMLP = false
        case "mlp": isMLP = true
        default: throw .badInput("unknown model '\(model)': expected logreg or mlp")
        }
        let epochs = self.epochs ?? (isMLP ? 10 : 1)
        guard (0...1_000_000).contains(epochs) else {
            throw .badInput("--epochs must be from 0 to 1000000, got \(epochs)")
        }
        let method = optimizer ?? (isMLP ? "adam" : "sgd")
        let rate = learningRate ?? (method == "adam" ? 0.01 : 0.1)
        let chosen: Optimizer
        switch method {
        case "sgd":
            chosen = .sgd(learningRate: rate, momentum: momentum ?? 0, weightDecay: weightDecay)
        case "adam":
            guard momentum == nil else {
                throw .badInput("--momentum applies to --optimizer sgd (Adam has beta1 instead)")
            }
            chosen = .adam(learningRate: rate, weightDecay: weightDecay)
        default: throw .badInput("--optimizer: '\(method)' is not sgd or adam")
        }
        do throws(TrainingError) {
            try chosen.validate()
        } catch .invalidHyperparameter(let name, let value, let expected) {
            let option =
                ["learningRate": "--lr", "weightDecay": "--weight-decay"][name] ?? "--\(name)"
            throw .badInput("\(option) must be finite and \(expected), got \(value)")
        } catch {
            throw .badInput("\(error)")
        }
        let dtypeName = dtype ?? (isMLP ? "float32" : "float64")
        guard let elementType = DType(rawValue: dtypeName) else {
            throw .badInput("--dtype: '\(dtypeName)' is not float32 or float64")
        }
        let samples = self.samples ?? (isMLP ? 1536 : 65_536)
        guard (1...10_000_000).contains(samples) else {
            throw .badInput("--samples must be from 1 to 10000000, got \(samples)")
        }
        guard (1...samples).contains(batch) else {
            throw .badInput(
                "--batch must be from 1 to the number of samples (\(samples)), got \(batch)")
        }
        let seed = self.seed ?? (isMLP ? 1 : 11)
        if let save {
            // Refuse a checkpoint path that cannot be written before training.
            let directory = URL(fileURLWithPath: save).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
                isDirectory.boolValue, FileManager.default.isWritableFile(atPath: directory)
            else {
                throw .badInput("--save \(save): the directory \(directory) is not writable")
            }
        }
        if isMLP {
            guard (2...64).contains(classes) else {
                throw .badInput("--classes must be from 2 to 64, got \(classes)")
            }
            guard samples >= classes else {
                throw .badInput("--samples must be at least --classes (\(classes))")
            }
            let widths = hidden.split(separator: ",", omittingEmptySubsequences: false).map {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            guard widths.allSatisfy({ (1...65_536).contains($0 ?? 0) }), widths.count <= 16 else {
                throw .badInput(
                    "--hidden: '\(hidden)' is not a list of up to 16 layer widths from 1 to 65536")
            }
            guard let act = Model<Double>.Activation(rawValue: activation) else {
                throw .badInput("--activation: '\(activation)' is not relu or tanh")
            }
            let data = Workloads.spirals(
                classes: classes, samplesPerClass: samples / classes, seed: seed)
            // The spirals round --samples down to a multiple of --classes.
            guard batch <= data.samples else {
                throw .badInput(
                    "--batch must be from 1 to the number of samples (\(data.samples)), got \(batch)"
                )
            }
            let layers = [2] + widths.map { $0! } + [classes]
            return Setup(
                name: "mlp", dtype: elementType, epochs: epochs, optimizer: chosen, batch: batch,
                layers: layers, activation: act, x: data.x, y: data.labels, samples: data.samples,
                seed: seed,
                description:
                    "mlp \(layers.map(String.init).joined(separator: "-")) (\(act.rawValue)), "
                    + "\(data.samples) spiral points in \(classes) classes")
        }
        guard (1...65_536).contains(features) else {
            throw .badInput("--features must be from 1 to 65536, got \(features)")
        }
        guard samples.multipliedReportingOverflow(by: features).partialValue <= 200_000_000 else {
            throw .badInput("--samples × --features must be at most 200000000")
        }
        let data = Workloads.logisticData(samples: samples, features: features, seed: seed)
        return Setup(
            name: "logreg", dtype: elementType, epochs: epochs, optimizer: chosen, batch: batch,
            layers: [features, 1], activation: nil, x: data.x, y: data.y, samples: samples,
            seed: seed,
            description:
                "logistic regression, \(samples) samples of \(features) features"
                + (samples == 65_536 && features == 256 && seed == 11 ? " (S4)" : ""))
    }

    // MARK: Training

    /// One epoch's figures.
    struct EpochReport {
        var epoch: Int
        var loss: Double
        var accuracy: Double
        var batchLoss: Double
        var milliseconds: Double
    }

    private func train<T: TensorElement>(_: T.Type, _ setup: Setup, _ runtime: Runtime)
        throws(CLIFailure)
    {
        let model: Model<T> =
            setup.name == "mlp"
            ? .mlp(
                layers: setup.layers,
                activation: setup.activation.flatMap { Model<T>.Activation(rawValue: $0.rawValue) }
                    ?? .relu, seed: setup.seed)
            : .logisticRegression(features: setup.layers[0])
        let x = setup.x.map { T($0) }
        let y = setup.y.map { T($0) }
        let execution: Execution<T>
        let evaluator: ModelEvaluator<T>
        do {
            let plan = Plan(
                try model.trainingGraph(batch: setup.batch),
                options: runtimeOptions.planOptions(optimizer: setup.optimizer))
            execution = try Execution(plan: plan, runtime: runtime)
            evaluator = ModelEvaluator(model: model, batch: 4096)
        } catch {
            throw .badInput("\(error)")
        }
        if let load {
            do throws(CheckpointError) {
                let checkpoint = try Checkpoint<T>(contentsOf: load)
                try execution.restore(
                    checkpoint,
                    includingOptimizerState: checkpoint.optimizerState?.method
                        == setup.optimizer.name)
            } catch .io(_, let message) {
                throw .badInput("--load \(load): \(message)")
            } catch {
                throw .badInput("--load \(load): \(error)")
            }
        }
        let batches = setup.samples / setup.batch
        let parameterCount = execution.parameters.values.reduce(0) { $0 + $1.count }
        let header =
            "\(setup.description); batch \(setup.batch) "
            + "(\(batches) step\(batches == 1 ? "" : "s") per epoch), "
            + "\(setup.optimizer), \(runtime.threads) thread\(runtime.threads == 1 ? "" : "s"), "
            + "\(T.dtype), \(parameterCount) parameters"
        if !json {
            print(header)
            if let load { print("loaded \(load)") }
        }
        var progress = Progress(epochs: setup.epochs, batches: batches)
        var reports: [EpochReport] = []
        do {
            // The minibatches are read in place (bound, not copied); a last
            // partial batch is left out.
            var trainer = try Trainer(
                execution: execution, batchSize: setup.batch, partialBatch: .drop)
            for epoch in stride(from: 1, through: setup.epochs, by: 1) {
                let start = DispatchTime.now().uptimeNanoseconds
                let batchLoss = try trainer.epoch(samples: x, labels: y, on: runtime) { step in
                    progress.update(epoch: epoch, batch: step.batch, loss: step.loss)
                }
                let nanoseconds = DispatchTime.now().uptimeNanoseconds - start
                let (loss, accuracy) = try evaluator.evaluate(
                    parametersFrom: execution, x: x, y: y, on: runtime)
                let report = EpochReport(
                    epoch: epoch, loss: loss, accuracy: accuracy,
                    batchLoss: batchLoss,
                    milliseconds: Double(nanoseconds) / 1e6)
                reports.append(report)
                progress.clear()
                if !json {
                    print(
                        String(
                            format:
                                "epoch %d/%d: loss %.6f, accuracy %.2f%%, mean batch loss %.6f, %.1f ms",
                            epoch, setup.epochs, loss, 100 * accuracy, report.batchLoss,
                            report.milliseconds))
                }
            }
        } catch {
            progress.clear()
            throw .badInput("training failed: \(error)")
        }
        let final: (loss: Double, accuracy: Double)
        do {
            final =
                try reports.last.map { ($0.loss, $0.accuracy) }
                ?? evaluator.evaluate(parametersFrom: execution, x: x, y: y, on: runtime)
        } catch {
            throw .badInput("evaluation failed: \(error)")
        }
        if let save {
            do throws(CheckpointError) {
                try execution.checkpoint().write(to: save)
            } catch .io(_, let message) {
                throw .badInput("--save \(save): \(message)")
            } catch {
                throw .badInput("--save \(save): \(error)")
            }
        }
        let correct = Int((final.accuracy * Double(setup.samples)).rounded())
        if json {
            print(jsonReport(setup, execution, reports, final, parameterCount, runtime))
        } else {
            print(
                "final: loss \(final.loss), accuracy "
                    + String(format: "%.2f%%", 100 * final.accuracy)
                    + " (\(correct) of \(setup.samples))")
            if let save { print("saved \(save)") }
        }
    }

    private func jsonReport<T>(
        _ setup: Setup, _ execution: Execution<T>, _ reports: [EpochReport],
        _ final: (loss: Double, accuracy: Double), _ parameterCount: Int, _ runtime: Runtime
    ) -> String {
        let optimizer = setup.optimizer
        var optimizerFields: [(String, String)] = [
            ("name", JSONText.string(optimizer.name)),
            ("learningRate", JSONText.number(optimizer.learningRate)),
            ("weightDecay", JSONText.number(optimizer.weightDecay)),
        ]
        if case .sgd(let momentum, _) = optimizer.method {
            optimizerFields.append(("momentum", JSONText.number(momentum)))
        }
        let epochs = reports.map { r in
            JSONText.object([
                ("epoch", JSONText.number(r.epoch)), ("loss", JSONText.number(r.loss)),
                ("accuracy", JSONText.number(r.accuracy)),
                ("batchLoss", JSONText.number(r.batchLoss)),
                ("milliseconds", JSONText.number(r.milliseconds)),
            ])
        }
        return JSONText.object([
            ("model", JSONText.string(setup.name)),
            ("layers", JSONText.array(setup.layers.map(JSONText.number))),
            ("dtype", JSONText.string(T.dtype.rawValue)),
            ("samples", JSONText.number(setup.samples)),
            ("batch", JSONText.number(setup.batch)),
            ("seed", "\(setup.seed)"),
            ("threads", JSONText.number(runtime.threads)),
            ("parameters", JSONText.number(parameterCount)),
            ("optimizer", JSONText.object(optimizerFields)),
            ("epochs", JSONText.array(epochs)),
            ("loss", JSONText.number(final.loss)),
            ("accuracy", JSONText.number(final.accuracy)),
            ("loaded", load.map(JSONText.string) ?? "null"),
            ("saved", save.map(JSONText.string) ?? "null"),
        ])
    }
}

/// The progress display: on a terminal, one live line on standard error
/// (rewritten at most 10 times a second, erased at the end of each epoch);
/// otherwise a plain `progress:` line every 5 seconds.
struct Progress {
    let epochs: Int
    let batches: Int
    let live = isatty(STDERR_FILENO) != 0
    private var last: UInt64 = DispatchTime.now().uptimeNanoseconds
    private var shown = false

    init(epochs: Int, batches: Int) {
        self.epochs = epochs
        self.batches = batches
    }

    mutating func update(epoch: Int, batch: Int, loss: Double) {
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - last >= (live ? 100_000_000 : 5_000_000_000) else { return }
        last = now
        let fraction = Double(batch) / Double(Swift.max(1, batches))
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar =
            String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let text =
            "epoch \(epoch)/\(epochs) [\(bar)] "
            + String(format: "%3.0f%% batch %d/%d loss %.4f", 100 * fraction, batch, batches, loss)
        if live {
            StandardError.write("\r\u{1B}[2K" + text)
            shown = true
        } else {
            StandardError.write("progress: " + text + "\n")
        }
    }

    mutating func clear() {
        if shown { StandardError.write("\r\u{1B}[2K") }
        shown = false
    }
}
