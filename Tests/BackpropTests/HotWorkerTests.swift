import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Backprop

/// Note [Hot workers]: back-to-back passes reuse their helpers instead of
/// launching (and waking) new ones; helpers retire after the window; none
/// of it changes a bit of the results.
@Suite struct HotWorkerTests {
    /// A plan whose phases split into several tasks, and an execution of it.
    static func parallelExecution(seed: UInt64) throws -> Execution<Float> {
        let plan = Plan(
            try classifier(seed: seed, batch: 32, features: 48, hidden: 64),
            options: PlanOptions(grain: 256, inlineThreshold: 512))
        #expect(plan.tables.isParallel)
        return try Execution(plan: plan)
    }

    /// Twenty passes in a row on a runtime with a long window launch the
    /// helpers once; every pass's bits equal a one-thread run's; released,
    /// the helpers retire at once.
    @Test(arguments: [2, 3, 4])
    func backToBackPassesLaunchHelpersOnce(threads: Int) throws {
        let hot = Runtime(threads: threads, hotWindow: .seconds(30))
        let execution = try Self.parallelExecution(seed: 7)
        let serial = try Self.parallelExecution(seed: 7)
        try serial.run(on: Runtime(threads: 1))
        for _ in 0..<20 {
            try execution.run(on: hot)
            #expect(execution.output.isBitwiseEqual(to: serial.output))
            #expect(execution.gradient(of: "W1")!.isBitwiseEqual(to: serial.gradient(of: "W1")!))
        }
        #expect(hot.hub.launchedCount == threads - 1)
        #expect(hot.hub.hotCount == threads - 1)
        hot.releaseWorkers()
        let start = ContinuousClock.now
        while hot.hub.hotCount > 0 && ContinuousClock.now - start < .seconds(20) {
            Thread.sleep(forTimeInterval: 0.001)
        }
        #expect(hot.hub.hotCount == 0, "released helpers still waiting")
    }

    /// With a short window the helpers retire between passes that are far
    /// apart, and the next pass launches new ones; with a zero window none
    /// are kept (each pass launches with `dispatch_apply_f`).
    @Test func helpersRetireAfterTheWindow() throws {
        let runtime = Runtime(threads: 2, hotWindow: .milliseconds(2))
        let execution = try Self.parallelExecution(seed: 8)
        try execution.run(on: runtime)
        #expect(runtime.hub.launchedCount == 1)
        var waited = 0
        while runtime.hub.hotCount > 0 && waited < 2_000 {
            Thread.sleep(forTimeInterval: 0.001)
            waited += 1
        }
        #expect(runtime.hub.hotCount == 0, "the helper did not retire in \(waited) ms")
        let before = execution.output
        try execution.run(on: runtime)
        #expect(runtime.hub.launchedCount == 2)
        #expect(execution.output.isBitwiseEqual(to: before))

        let cold = Runtime(threads: 2, hotWindow: .zero)
        try execution.run(on: cold)
        try execution.run(on: cold)
        #expect(cold.hub.launchedCount == 0)
        #expect(execution.output.isBitwiseEqual(to: before))
    }

    /// Executions on one runtime from several threads at once: one pass
    /// owns the hot helpers, the others launch their own; all results are
    /// the one-thread bits.
    @Test func concurrentPassesShareOneRuntime() throws {
        let runtime = Runtime(threads: 2, hotWindow: .milliseconds(50))
        let reference = try Self.parallelExecution(seed: 9)
        try reference.run(on: Runtime(threads: 1))
        let executions = try (0..<4).map { _ in try Self.parallelExecution(seed: 9) }
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            for _ in 0..<10 {
                do {
                    try executions[k].run(on: runtime)
                    if !executions[k].output.isBitwiseEqual(to: reference.output)
                        || !executions[k].gradient(of: "W1")!.isBitwiseEqual(
                            to: reference.gradient(of: "W1")!)
                    {
                        mismatches.withLock { $0 += 1 }
                    }
                } catch {
                    mismatches.withLock { $0 += 1 }
                }
            }
        }
        #expect(mismatches.withLock { $0 } == 0)
    }

    @Test func windowsConvertToNanoseconds() {
        #expect(Runtime.nanoseconds(.microseconds(100)) == 100_000)
        #expect(Runtime.nanoseconds(.zero) == 0)
        #expect(Runtime.nanoseconds(.seconds(-1)) == 0)
        #expect(Runtime.nanoseconds(.seconds(2)) == 2_000_000_000)
        #expect(Runtime().hotWindow == Runtime.defaultHotWindow)
        #expect(Runtime.hotWindow(environment: [:]) == nil)
        #expect(
            Runtime.hotWindow(environment: ["BACKPROP_HOT_WINDOW_US": "250"]) == .microseconds(250))
        #expect(Runtime.hotWindow(environment: ["BACKPROP_HOT_WINDOW_US": "0"]) == .zero)
        for bad in ["-1", "1e3", "", "x"] {
            #expect(Runtime.hotWindow(environment: ["BACKPROP_HOT_WINDOW_US": bad]) == nil)
        }
    }
}
