import ArgumentParser
import Backprop
import Foundation

/// `backprop info [--json]`: the version and what the runtime found on
/// this machine: threads, instruction set, BLAS, NUMA.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract:
            "The version, thread count, instruction set, BLAS and NUMA topology that backprop uses here.",
        discussion: """
            Threads: BACKPROP_THREADS when set to a positive integer, else the active cores. \
            ISA: the best vector instruction set the CPU supports (avx512, avx2, baseline); \
            BACKPROP_ISA chooses one of those it supports. \
            BLAS: OpenBLAS when found (BACKPROP_BLAS=off disables it); matrix products run the \
            own kernel unless BACKPROP_BLAS=on. NUMA: libnuma when found; \
            BACKPROP_NUMA=off disables it, BACKPROP_NUMA_TOPOLOGY (e.g. '0:0-7;1:8-15') \
            simulates a topology. An invalid ISA or NUMA setting is an error (exit status 2).
            """)

    @Argument(
        help: ArgumentHelp(
            "A graph file: also report where an execution of its plan places its memory, per NUMA node.",
            valueName: "file"))
    var file: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws(CLIFailure) {
        var report = try InfoReport(environment: ProcessInfo.processInfo.environment)
        if let file {
            let runtime = try configuredRuntime(threads: nil)
            switch try loadGraphFile(file) {
            case .float32(let g): report.placement = Plan(g).placementReport(on: runtime)
            case .float64(let g): report.placement = Plan(g).placementReport(on: runtime)
            }
        }
        print(json ? report.json : report.text)
    }
}

/// What `backprop info` prints, in text and JSON (docs/cli.md). Sections
/// that a later option adds (such as a plan's placement) append to both.
struct InfoReport {
    /// The package version.
    let version = backpropVersion
    /// The workers a pass uses.
    let threads: Int
    /// The instruction set the kernels use, and the line that explains it.
    let isa = InstructionSet.current
    let isaDescription = Runtime.instructionSetDescription
    /// Whether a BLAS was loaded, and which.
    let blasFound: Bool
    let blas: String
    /// What default plans compute matrix products with.
    let matrixKernel = Runtime.matrixKernelDescription
    let blasUsedByDefault = Runtime.blasUsedByDefault
    /// The NUMA system, libnuma and the nodes.
    let numa: NUMAInfo
    /// Where a plan of the graph file given places its memory.
    var placement: PlacementReport?

    /// The report for a runtime configured from `environment`.
    ///
    /// - Throws: ``CLIFailure`` (bad input) for an invalid `BACKPROP_NUMA`
    ///   or `BACKPROP_NUMA_TOPOLOGY`.
    init(environment: [String: String]) throws(CLIFailure) {
        self.init(runtime: try configuredRuntime(threads: nil, environment: environment))
    }

    /// The report for `runtime`.
    init(runtime: Runtime) {
        threads = runtime.threads
        blasFound = Runtime.blasFound
        blas = Runtime.blasDescription
        numa = runtime.numaInfo
    }

    /// ```text
    /// version: 0.1.0
    /// threads: 2
    /// ISA: avx2 (AMD EPYC 7B13; supported: avx2, baseline)
    /// BLAS: OpenBLAS (libopenblas.so.0); matrix products: own kernel
    /// NUMA: libnuma (libnuma.so.1), 1 node
    ///   libnuma: found (libnuma.so.1)
    ///   node 0: CPUs 0-1, memory 7.8 GiB
    /// ```
    var text: String {
        ([
            "version: \(version)", "threads: \(threads)", "ISA: \(isaDescription)",
            "BLAS: \(blas); matrix products: \(matrixKernel)",
            numa.description,
        ]
            + (placement.map { [$0.placementDescription] } ?? []))
            .joined(separator: "\n")
    }

    /// One line: `{"version": "0.1.0", "threads": 2, "isa": {...}, "blas": {...}, "numa": {...}}`.
    var json: String {
        let nodes = numa.nodes.map { node in
            JSONText.object([
                ("id", JSONText.number(node.id)),
                ("cpus", JSONText.array(node.cpus.map(JSONText.number))),
                ("memoryBytes", node.memoryBytes.map(JSONText.number) ?? "null"),
            ])
        }
        var placementField: [(String, String)] = []
        if let record = placement?.record {
            placementField = [
                (
                    "placement",
                    JSONText.object(
                        record.placements.map { place in
                            (
                                place.description,
                                JSONText.object(
                                    BufferRole.allCases.map {
                                        ($0.plural, JSONText.number(record.bytes($0, at: place)))
                                    })
                            )
                        })
                )
            ]
        }
        return JSONText.object(
            [
                ("version", JSONText.string(version)),
                ("threads", JSONText.number(threads)),
                (
                    "isa",
                    JSONText.object([
                        ("name", JSONText.string(isa.rawValue)),
                        (
                            "supported",
                            JSONText.array(
                                InstructionSet.supported.map { JSONText.string($0.rawValue) })
                        ),
                        ("description", JSONText.string(isaDescription)),
                    ])
                ),
                (
                    "blas",
                    JSONText.object([
                        ("found", JSONText.bool(blasFound)), ("description", JSONText.string(blas)),
                        ("usedByDefault", JSONText.bool(blasUsedByDefault)),
                        ("matrixProducts", JSONText.string(matrixKernel)),
                    ])
                ),
                (
                    "numa",
                    JSONText.object([
                        ("system", JSONText.string(numa.system)),
                        ("libnumaFound", JSONText.bool(numa.libnumaFound)),
                        ("libnuma", JSONText.string(numa.libnuma)),
                        ("nodes", JSONText.array(nodes)),
                    ])
                ),
            ] + placementField)
    }
}
