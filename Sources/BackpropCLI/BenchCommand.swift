import ArgumentParser
import Backprop
import BackpropWorkloads
import Foundation

/// `backprop bench [WORKLOAD…] [--threads 1,2] [--repetitions N] [--json]`:
/// the fixed workloads of `shared/workloads.md`, timed.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the fixed workloads (S1–S5, scheduler shapes) at each thread count.",
        discussion: """
            Workloads: \(BenchWorkload.allCases.map(\.rawValue).joined(separator: ", ")) \
            (default: all). Each is built and compiled once, run once to warm up, then \
            --repetitions times; the median is the figure. S1 and the scheduler shapes report ns \
            per node (S1 also build + plan + run, "eager"), S2 GFLOP/s, S3 GB/s, S4 ms per epoch, \
            S5 µs per step (median epoch / 24 steps; "us_per_step" in JSON, the times per epoch).

            With --json: JSON Lines, one object per workload and thread count: \
            {"workload": "S1", "threads": 1, "median_ms": …, "min_ms": …, "max_ms": …, \
            "ns_per_node": …, "check": {"omega": …, "grad_sum": …}, "isa": "avx2", "blas": …, \
            "numa": …, "process_threads": …} (threads alive in the process afterwards).

            'kernels' (only when named) times the kernels alone, as plans run them: each \
            elementwise function forward, and forward with its VJP, over 2^20 elements (2^16 with --quick), \
            float32 and float64, in elements per second and as a fraction of a plain copy's \
            speed; and S2's matrix products forward and backward in GFLOP/s, with and without \
            OpenBLAS. JSON: {"workload": "kernels", "kernel": "exp", "pass": "forward" (or "forward+vjp"), \
            "dtype": "float32", "threads": 1, "median_ms": …, "elements_per_second": …, \
            "copy_fraction": …, "isa": …} (matrix products: "gflops" and "blas").

            Examples:
              backprop bench
              backprop bench S2 S3 --threads 1,2 --repetitions 20
              backprop bench --quick --json
              backprop bench kernels --threads 1,2
            """)

    @Argument(help: ArgumentHelp("Workloads to run (default: all).", valueName: "workload"))
    var workloads: [String] = []

    @Option(help: ArgumentHelp("Thread counts, 1 to 1024 each.", valueName: "list"))
    var threads = "1,2"

    @Option(help: "Timed repetitions per workload and thread count.")
    var repetitions = 10

    @Flag(
        help:
            "Smaller sizes (S1 N = 10^4, S3 length 4096, chain 10^5; S5 as it is), for a smoke test."
    )
    var quick = false

    @Flag(help: "Print JSON Lines: one object per workload and thread count.")
    var json = false

    @Flag(
        help: ArgumentHelp(
            "Plan S3 with its backward pass fused (PlanOptions.fusedBackward; off by default)."))
    var fusedBackward = false

    func run() throws(CLIFailure) {
        var selected: [BenchWorkload] = []
        var kernels = false
        for name in workloads {
            if name.lowercased() == "kernels" {
                kernels = true
                continue
            }
            guard
                let w = BenchWorkload.allCases.first(where: {
                    $0.rawValue.lowercased() == name.lowercased()
                })
            else {
                throw .badInput(
                    "unknown workload '\(name)' (workloads: "
                        + BenchWorkload.allCases.map(\.rawValue).joined(separator: ", ")
                        + ", kernels)")
            }
            selected.append(w)
        }
        if selected.isEmpty && !kernels { selected = BenchWorkload.allCases }
        guard (1...1_000_000).contains(repetitions) else {
            throw .badInput("--repetitions must be from 1 to 1000000, got \(repetitions)")
        }
        let counts = try RuntimeOptions.threadCounts(threads)
        let runtimes = try counts.map { (n) throws(CLIFailure) in try configuredRuntime(threads: n)
        }
        var bench = WorkloadBench(repetitions: repetitions, quick: quick)
        bench.fusedBackward = fusedBackward
        if !json {
            print("ISA: \(Runtime.instructionSetDescription)")
            print(
                "BLAS: \(Runtime.blasDescription); matrix products: "
                    + "\(Runtime.matrixKernelDescription); NUMA: \(runtimes[0].numaDescription)")
            if !selected.isEmpty {
                print("workload        threads   median ms     min ms     max ms   figure")
            }
        }
        for workload in selected {
            for runtime in runtimes {
                let m: BenchMeasurement
                do { m = try bench.measure(workload, on: runtime) } catch {
                    throw .checkFailed(
                        "\(workload.rawValue) at \(runtime.threads) threads: \(error)")
                }
                print(json ? Self.jsonLine(m) : Self.tableRow(m))
            }
        }
        if kernels {
            if !json {
                print(
                    "kernel              pass         dtype    threads   median ms   figure")
            }
            for runtime in runtimes {
                let rows: [KernelMeasurement]
                do { rows = try bench.measureKernels(on: runtime) } catch {
                    throw .checkFailed("kernels at \(runtime.threads) threads: \(error)")
                }
                for row in rows { print(json ? Self.jsonLine(row) : Self.tableRow(row)) }
            }
        }
    }

    static func tableRow(_ k: KernelMeasurement) -> String {
        var figure = ""
        if let v = k.elementsPerSecond, let c = k.copyFraction {
            figure = String(format: "%8.1f M elements/s  %5.2f× copy", v / 1e6, c)
        }
        if let g = k.gigaflops {
            figure = String(
                format: "%8.1f GFLOP/s  %@", g, (k.blas ?? false) ? "OpenBLAS" : "own kernel")
        }
        return k.kernel.padding(toLength: 20, withPad: " ", startingAt: 0)
            + k.pass.padding(toLength: 13, withPad: " ", startingAt: 0)
            + k.dtype.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
            + String(k.threads).leftPadded(7)
            + String(format: "%12.3f", k.nanoseconds / 1e6) + "   " + figure
    }

    static func jsonLine(_ k: KernelMeasurement) -> String {
        var members: [(String, String)] = [
            ("workload", JSONText.string("kernels")),
            ("kernel", JSONText.string(k.kernel)),
            ("pass", JSONText.string(k.pass)),
            ("dtype", JSONText.string(k.dtype.rawValue)),
            ("threads", JSONText.number(k.threads)),
            ("median_ms", JSONText.number(k.nanoseconds / 1e6)),
        ]
        if let v = k.elementsPerSecond {
            members.append(("elements_per_second", JSONText.number(v)))
        }
        if let v = k.copyFraction { members.append(("copy_fraction", JSONText.number(v))) }
        if let v = k.gigaflops { members.append(("gflops", JSONText.number(v))) }
        if let v = k.blas { members.append(("blas", JSONText.bool(v))) }
        members.append(("isa", JSONText.string(InstructionSet.current.rawValue)))
        return JSONText.object(members)
    }

    static func figure(_ m: BenchMeasurement) -> (name: String, value: Double)? {
        if let v = m.nanosecondsPerNode { return ("ns_per_node", v) }
        if let v = m.gigaflops { return ("gflops", v) }
        if let v = m.gigabytesPerSecond { return ("gbps", v) }
        if let v = m.microsecondsPerStep { return ("us_per_step", v) }
        return nil
    }

    static func tableRow(_ m: BenchMeasurement) -> String {
        func f(_ x: Double, _ width: Int, _ digits: Int = 3) -> String {
            let s = String(format: "%.\(digits)f", x)
            return String(repeating: " ", count: Swift.max(0, width - s.count)) + s
        }
        var figure = ""
        if let v = m.nanosecondsPerNode { figure = String(format: "%.1f ns/node", v) }
        if let v = m.gigaflops { figure = String(format: "%.1f GFLOP/s", v) }
        if let v = m.gigabytesPerSecond { figure = String(format: "%.2f GB/s", v) }
        if m.workload == .s4 { figure = "ms per epoch" }
        if let v = m.microsecondsPerStep { figure = String(format: "%.1f µs/step", v) }
        if let eager = m.eagerNanosecondsPerNode {
            figure += String(format: " (eager %.1f ns/node)", eager)
        }
        let checks = m.check.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
        return m.workload.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)
            + String(m.threads).leftPadded(8) + f(m.medianMilliseconds, 12)
            + f(m.minMilliseconds, 11)
            + f(m.maxMilliseconds, 11) + "   " + figure + "   [" + checks + "]"
    }

    static func jsonLine(_ m: BenchMeasurement) -> String {
        var members: [(String, String)] = [
            ("workload", JSONText.string(m.workload.rawValue)),
            ("threads", JSONText.number(m.threads)),
            ("median_ms", JSONText.number(m.medianMilliseconds)),
            ("min_ms", JSONText.number(m.minMilliseconds)),
            ("max_ms", JSONText.number(m.maxMilliseconds)),
        ]
        if let nodes = m.nodes { members.append(("nodes", JSONText.number(nodes))) }
        if let steps = m.steps { members.append(("steps", JSONText.number(steps))) }
        if let (name, value) = figure(m) { members.append((name, JSONText.number(value))) }
        if let eager = m.eagerNanosecondsPerNode {
            members.append(("eager_ns_per_node", JSONText.number(eager)))
        }
        members.append(
            ("check", JSONText.object(m.check.map { ($0.name, JSONText.number($0.value)) })))
        members.append(("isa", JSONText.string(InstructionSet.current.rawValue)))
        members.append(("blas", JSONText.bool(m.blas)))
        members.append(("numa", JSONText.string(m.numa)))
        if let threads = m.processThreads {
            members.append(("process_threads", JSONText.number(threads)))
        }
        return JSONText.object(members)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
