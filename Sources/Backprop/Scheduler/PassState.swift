import Foundation
import Synchronization

/// The scheduler's shared state for one execution's passes, reused run
/// after run (nothing is allocated per pass).
///
/// Tasks are claimed per NUMA node (Note [Arena placement]): each phase's
/// tasks are cut into one contiguous block per node (``TaskAffinity``), a
/// worker claims from its own node's block first and then steals from the
/// others, in node order after its own. With one node this is a single
/// shared counter.
final class PassState: Sendable {
    /// A claim counter of a node after the first (see ``claim``).
    private final class Claim: Sendable {
        let value = Atomic<UInt64>(0)
    }
    /// The ids of the nodes tasks are placed on, in topology order.
    let nodeIDs: [Int]
    /// The first node's claim counter: high 32 bits the phase, low 32 bits
    /// the next unclaimed task of the node's block (with one node: of the phase).
    private let claim = Atomic<UInt64>(0)
    /// The other nodes' counters, in ``nodeIDs`` order.
    private let otherClaims: [Claim]
    /// High 32 bits: the phase; low 32 bits: tasks completed.
    private let done = Atomic<UInt64>(0)
    /// The phase now running.
    private let phase = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let condition = NSCondition()

    /// Spins before yielding, and yields before parking.
    private static let spins = 2_000, yields = 200

    /// Scheduler state for tasks placed on the nodes `nodeIDs` (one node by default).
    init(nodeIDs: [Int] = [0]) {
        precondition(!nodeIDs.isEmpty)
        self.nodeIDs = nodeIDs
        otherClaims = nodeIDs.dropFirst().map { _ in Claim() }
    }

    /// The index in ``nodeIDs`` of the node a worker runs on: `node` when it
    /// is one of them, else a spread of workers over the nodes.
    func home(node: Int?, worker: Int) -> Int {
        guard nodeIDs.count > 1 else { return 0 }
        if let node {
            for k in 0..<nodeIDs.count where nodeIDs[k] == node { return k }
        }
        return worker % nodeIDs.count
    }

    func reset() {
        claim.store(0, ordering: .relaxed)
        // By index: a for-in over the array allocates an iterator in debug builds.
        for k in 0..<otherClaims.count { otherClaims[k].value.store(0, ordering: .relaxed) }
        done.store(0, ordering: .relaxed)
        phase.store(0, ordering: .sequentiallyConsistent)
    }

    /// Runs tasks until the last phase ends, claiming from node index
    /// `home`'s block of each phase first.
    func work(
        worker: Int, home: Int, phaseStart: UnsafePointer<Int>, phases: Int,
        task: (Int, Int) -> Void, phaseEnded: (Int) -> Void
    ) {
        let n = nodeIDs.count
        var p = phase.load(ordering: .acquiring)
        while p < phases {
            let first = phaseStart[p]
            let count = phaseStart[p + 1] - first
            if n == 1 {
                drain(
                    claim, phase: p, first: first, size: count, of: count, worker, task, phaseEnded)
            } else {
                for step in 0..<n {
                    let k = (home + step) % n
                    let lo = TaskAffinity.firstTask(ofNode: k, count: count, nodes: n)
                    let size = TaskAffinity.firstTask(ofNode: k + 1, count: count, nodes: n) - lo
                    if k == 0 {
                        drain(
                            claim, phase: p, first: first, size: size, of: count, worker, task,
                            phaseEnded)
                    } else {
                        drain(
                            otherClaims[k - 1].value, phase: p, first: first + lo, size: size,
                            of: count, worker, task, phaseEnded)
                    }
                }
            }
            p = waitForPhase(after: p)
        }
    }

    /// Claims and runs tasks `first..<first + size` of phase `p` (of
    /// `count` tasks) through `counter` until they are all claimed; whoever
    /// completes the phase's last task ends the phase.
    @inline(__always)
    private func drain(
        _ counter: borrowing Atomic<UInt64>, phase p: Int, first: Int, size: Int, of count: Int,
        _ worker: Int, _ task: (Int, Int) -> Void, _ phaseEnded: (Int) -> Void
    ) {
        while true {
            let v = counter.load(ordering: .relaxed)
            guard Int(v >> 32) == p, Int(v & 0xFFFF_FFFF) < size else { return }
            guard counter.compareExchange(expected: v, desired: v + 1, ordering: .relaxed).exchanged
            else { continue }
            task(first + Int(v & 0xFFFF_FFFF), worker)
            let before = done.add(1, ordering: .acquiringAndReleasing).oldValue
            if Int(before & 0xFFFF_FFFF) + 1 == count {
                phaseEnded(p)
                advance(from: p)
            }
        }
    }

    /// Called by the worker that completed phase p's last task.
    private func advance(from p: Int) {
        let next = UInt64(p + 1) << 32
        done.store(next, ordering: .relaxed)
        claim.store(next, ordering: .relaxed)
        for k in 0..<otherClaims.count { otherClaims[k].value.store(next, ordering: .relaxed) }
        phase.store(p + 1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
    }

    private func waitForPhase(after p: Int) -> Int {
        for i in 0..<(Self.spins + Self.yields) {
            let q = phase.load(ordering: .acquiring)
            if q > p { return q }
            if i >= Self.spins { sched_yield() }
        }
        sleepers.add(1, ordering: .sequentiallyConsistent)
        condition.lock()
        while phase.load(ordering: .sequentiallyConsistent) <= p { condition.wait() }
        condition.unlock()
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        return phase.load(ordering: .acquiring)
    }
}
