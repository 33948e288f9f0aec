// Note [Allocation-free launch]
// A parallel pass starts its workers with one `dispatch_apply_f` call whose
// context is a pointer to a `ParallelLaunch` on the caller's stack, and
// whose function is a C function pointer. `concurrentPerform` would be the
// same call, but the Swift overlay turns its closure into a block (a heap
// copy), and handing the pass's closures to the workers needs escaping
// closures (boxed contexts, reabstraction thunks): a handful of heap
// allocations on the calling thread per pass, found by
// `ExecutionTests.reExecutionAllocatesNothing` once its counter worked. Here
// the workers reach the pass through the launch record and the
// ``PassBody`` protocol instead, so a pass allocates nothing on the calling
// thread. `dispatch_apply_f` is looked up once with `dlsym` (libdispatch is
// already loaded: Dispatch is imported; Platform/DispatchApply.swift); where
// it is not found the launch
// falls back to `concurrentPerform`, which is correct, only not
// allocation-free. Dispatch may still allocate on its own threads.

import Dispatch

/// What a pass runs: its tasks, by index, and the end of each phase. An
/// ``Execution`` is one; workers call it from any thread.
protocol PassBody: AnyObject, Sendable {
    /// Runs task `task` on worker `worker`.
    func runTask(_ task: Int, worker: Int)
    /// Called once phase `phase`'s last task has completed, before the next
    /// phase is published.
    func phaseDidEnd(_ phase: Int)
}

/// Everything a worker needs to join a pass, on the launching thread's
/// stack for the duration of the launch. Its pointer is to a plan's phase
/// table, which is immutable (hence `@unchecked Sendable`).
struct ParallelLaunch: @unchecked Sendable {
    let pass: PassState
    let body: any PassBody
    let phaseStart: UnsafePointer<Int>
    let phases: Int
    let numa: any NUMASystem

    /// The body of one worker: finds its node and works the pass's phases.
    func work(worker: Int) {
        // A worker's node, from the CPU it runs on now (Note [NUMA placement]).
        // (No closures here: a partially applied existential method allocates.)
        var home = 0
        if pass.nodeIDs.count > 1 {
            var node: Int?
            if let cpu = numa.currentCPU() { node = numa.node(ofCPU: cpu) }
            home = pass.home(node: node, worker: worker)
        }
        // The body's concrete type, once per worker: through the existential
        // every task would run the unspecialised generic kernels (witness
        // calls per element: S3 at 2 threads ran 5× the work of 1 thread).
        if let execution = body as? Execution<Float> {
            drive(execution, worker: worker, home: home)
        } else if let execution = body as? Execution<Double> {
            drive(execution, worker: worker, home: home)
        } else {
            drive(body, worker: worker, home: home)
        }
    }

    /// Works the pass's phases with `body`, statically typed.
    @inline(__always)
    private func drive<Body: PassBody>(_ body: Body, worker: Int, home: Int) {
        pass.work(
            worker: worker, home: home, phaseStart: phaseStart, phases: phases,
            task: { t, w in body.runTask(t, worker: w) }, phaseEnded: { body.phaseDidEnd($0) })
    }

    /// Runs `work(worker:)` for workers `0..<workers`, concurrently, and
    /// returns when all have returned (Note [Allocation-free launch]).
    func run(workers: Int) {
        if let apply = DispatchApply.function {
            withUnsafePointer(to: self) { launch in
                apply(workers, nil, UnsafeMutableRawPointer(mutating: launch)) { context, worker in
                    context!.assumingMemoryBound(to: ParallelLaunch.self).pointee.work(
                        worker: worker)
                }
            }
        } else {
            DispatchQueue.concurrentPerform(iterations: workers) { work(worker: $0) }
        }
    }
}
