import Dispatch
import Foundation
import Synchronization

/// Owns the thread budget and runs plans' passes on Dispatch. Create one
/// and share it (``shared`` is one sized to the machine); it holds no
/// threads of its own between runs.
///
/// ```swift
/// let runtime = Runtime(threads: 4)
/// try execution.run(on: runtime)
/// ```
public final class Runtime: Sendable {
    /// The number of workers a pass uses (the caller's thread is one of them).
    public let threads: Int

    /// Where executions get their memory (see `docs/numa.md`).
    let numa: any NUMASystem

    /// The NUMA system in use, in one line: `"libnuma (libnuma.so.1), 1 node"`,
    /// `"simulated 2 nodes (BACKPROP_NUMA_TOPOLOGY=…)"`, or
    /// `"no NUMA (…reason…)"`, followed by a configuration problem if the
    /// environment's NUMA settings were invalid (they are then ignored).
    public let numaDescription: String

    /// A runtime with the default thread count: `BACKPROP_THREADS` when set
    /// to a positive integer, else the number of active cores.
    public static let shared = Runtime()

    /// The BLAS that matrix products use when plans ask for it
    /// (``PlanOptions/useBLAS``): for example `"OpenBLAS (libopenblas.so.0)"`,
    /// `"not found"` (the own kernel is used), or
    /// `"disabled by BACKPROP_BLAS=off"`. Reading it loads OpenBLAS if found.
    public static var blasDescription: String { BLAS.status }

    /// What computes matrix products in a plan made with default options:
    /// `"own kernel"`, `"OpenBLAS (BACKPROP_BLAS=on)"`, or
    /// `"own kernel (BACKPROP_BLAS=on, but OpenBLAS not found)"`.
    public static var matrixKernelDescription: String {
        guard BLAS.preferredByDefault else { return "own kernel" }
        return BLAS.shared != nil
            ? "OpenBLAS (BACKPROP_BLAS=on)"
            : "own kernel (BACKPROP_BLAS=on, but OpenBLAS \(BLAS.status))"
    }

    /// How long a runtime's helper threads keep spinning after a pass,
    /// waiting for the next one, before they go back to Dispatch (Note [Hot
    /// workers]): ``defaultHotWindow`` unless given to the initializer.
    public let hotWindow: Duration

    /// The default ``hotWindow``: 100 µs, or `BACKPROP_HOT_WINDOW_US`
    /// microseconds when that is set to a whole number (0 turns hot workers
    /// off). Back-to-back passes (a training loop's steps) then find their
    /// helpers awake instead of waking them (20–45 µs per pass on the
    /// 2-core test machines); an idle runtime spins one core per helper for
    /// at most this long after each pass.
    public static let defaultHotWindow: Duration =
        hotWindow(environment: ProcessInfo.processInfo.environment) ?? .microseconds(100)

    /// The window `BACKPROP_HOT_WINDOW_US` asks for: `nil` when unset;
    /// throws nothing, but a value that is not a whole number of
    /// microseconds from 0 to 10^9 gives `nil` too (the CLI refuses it).
    public static func hotWindow(environment: [String: String]) -> Duration? {
        guard let text = environment["BACKPROP_HOT_WINDOW_US"], let us = Int(text),
            (0...1_000_000_000).contains(us)
        else { return nil }
        return .microseconds(us)
    }

    /// The helpers kept hot between passes.
    let hub: WorkerHub

    /// Creates a runtime.
    ///
    /// - Parameters:
    ///   - threads: Workers per pass; `nil` for the default (see
    ///     ``shared``). Values below 1 are treated as 1. More threads than
    ///     cores are allowed: results are identical, only slower.
    ///   - hotWindow: How long helpers wait for the next pass before they
    ///     park (``hotWindow``); `.zero` parks them as soon as a pass ends.
    public init(threads: Int? = nil, hotWindow: Duration = Runtime.defaultHotWindow) {
        let environment = ProcessInfo.processInfo.environment
        self.threads = Runtime.threadCount(
            requested: threads, environment: environment,
            cores: ProcessInfo.processInfo.activeProcessorCount)
        self.hotWindow = hotWindow
        hub = WorkerHub(window: Runtime.nanoseconds(hotWindow))
        do {
            numa = try NUMA.makeSystem(environment: environment)
            numaDescription = numa.summary
        } catch {
            let reason = "invalid NUMA configuration: \(error)"
            numa = FallbackNUMASystem(
                reason: reason, libnuma: .notLoaded(reason: reason),
                cpuCount: ProcessInfo.processInfo.processorCount)
            numaDescription = "\(numa.summary); \(reason)"
        }
    }

    /// A runtime configured from `environment`, strictly: where ``init(threads:)``
    /// falls back to plain memory on an invalid NUMA setting (and says so in
    /// ``numaDescription``), this throws.
    ///
    /// - Throws: ``NUMAError`` for an invalid `BACKPROP_NUMA` or
    ///   `BACKPROP_NUMA_TOPOLOGY`.
    public static func configured(
        threads: Int? = nil, hotWindow: Duration = Runtime.defaultHotWindow,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(NUMAError) -> Runtime {
        Runtime(
            threads: threadCount(
                requested: threads, environment: environment,
                cores: ProcessInfo.processInfo.activeProcessorCount),
            numa: try NUMA.makeSystem(environment: environment), hotWindow: hotWindow)
    }

    /// A runtime on a given NUMA system (tests).
    init(threads: Int, numa: any NUMASystem, hotWindow: Duration = Runtime.defaultHotWindow) {
        self.threads = Swift.max(1, threads)
        self.numa = numa
        numaDescription = numa.summary
        self.hotWindow = hotWindow
        hub = WorkerHub(window: Runtime.nanoseconds(hotWindow))
    }

    /// Sends the helper threads that are waiting for this runtime's next
    /// pass back to Dispatch now, instead of at the end of ``hotWindow``:
    /// for an application that knows it will not run a pass for a while
    /// and wants its cores back. The next pass launches helpers again.
    public func releaseWorkers() {
        hub.releaseHelpers()
    }

    /// `duration` in whole nanoseconds, 0 when negative.
    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 || seconds > 0 else { return 0 }
        let total = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        return total >= Double(UInt64.max) ? UInt64.max : UInt64(Swift.max(0, total))
    }

    /// The thread budget: the request if given (at least 1), else a positive
    /// `BACKPROP_THREADS`, else the active cores.
    static func threadCount(requested: Int?, environment: [String: String], cores: Int) -> Int {
        if let requested { return Swift.max(1, requested) }
        if let text = environment["BACKPROP_THREADS"], let n = Int(text), n > 0 { return n }
        return Swift.max(1, cores)
    }

    /// Runs every phase of a pass: the tasks of a phase in any order and on
    /// any worker, phases one after another.
    ///
    /// Note [Level barrier]
    /// Workers are launched once per pass: one `dispatch_apply_f` (what
    /// `concurrentPerform` calls; Note [Allocation-free launch]) whose
    /// iterations are long-lived workers walking all phases. Within a phase
    /// they claim tasks from a shared counter; whoever completes the last
    /// task publishes the next phase. Waiting workers spin briefly (a
    /// hand-off costs ~0.1 µs), then yield, then park on a condition
    /// variable, so an idle pass burns no core. Because tasks are claimed,
    /// not assigned, a worker that Dispatch starts late — or never, when
    /// there are more workers than cores — blocks nobody: the pass finishes
    /// with whichever workers turned up.
    func run(
        _ pass: PassState, phaseStart: FrozenArray<Int>, phases: Int, parallel: Bool,
        body: some PassBody
    ) {
        guard phases > 0 else { return }
        pass.reset()
        if !parallel || threads == 1 {
            for p in 0..<phases {
                for t in phaseStart[p]..<phaseStart[p + 1] { body.runTask(t, worker: 0) }
                body.phaseDidEnd(p)
            }
            return
        }
        // The body writes only the disjoint regions the plan assigns to each
        // task (and each phase), and the pass ends before the launch returns.
        let launch = ParallelLaunch(
            pass: pass, body: body, phaseStart: phaseStart.pointer, phases: phases, numa: numa)
        // Hot helpers (Note [Hot workers]), unless another pass holds them.
        if hub.window > 0 && hub.run(launch, workers: threads) { return }
        launch.run(workers: threads)
    }
}
