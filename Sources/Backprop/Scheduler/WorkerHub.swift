import CKernels
import Dispatch
import Synchronization

#if os(Linux)
    import Glibc
#endif

// Note [Hot workers]
// A parallel pass used to launch its helpers with one `dispatch_apply_f`
// and return when they had all returned, so every pass paid for waking
// Dispatch's parked pool threads: 20–45 µs here, more than a whole small
// training step (S4's steps take ~20 µs; at 2 threads they ran no faster
// than at 1). Now a runtime keeps its helpers hot between passes:
//
// - The calling thread is worker 0. It *posts* the pass to the runtime's
//   hub (the launch record in the hub's slot, `open`, then a new `epoch`),
//   works it, and *closes* it: `open` false, then it waits until no helper
//   is inside (`joined` 0), clears the slot and releases the hub.
// - A helper, once launched on Dispatch (`dispatch_async_f` on a global
//   queue), loops: it spins on `epoch` until a pass newer than the last it
//   saw is posted, joins it (`joined` + 1, then re-checks `open` and the
//   epoch: the Dekker pattern with the closing thread's `open` store and
//   `joined` load, both sequentially consistent, so either the helper sees
//   the pass closed or the closer waits for it), works it, and leaves
//   (`joined` − 1). After ``WorkerHub/window`` without a new pass it
//   retires: back to Dispatch, which parks the thread.
// - The poster counts the helpers alive (`hot`) and launches only the
//   missing ones, so back-to-back passes launch nothing and wake nobody.
//
// A helper that joins late finds the phases done and leaves; one that
// never comes blocks nobody (tasks are claimed, Note [Level barrier]).
// Only one pass at a time owns a hub: a pass that finds it owned (another
// thread running another execution on the same runtime) launches its own
// helpers with `dispatch_apply_f` as before. Nothing here touches the
// values, so results are what they were: bitwise the same for any thread
// count. The spinning costs a core for at most the window after each pass
// (`Runtime(threads:hotWindow:)`; 0 turns hot workers off).

/// The helpers of one ``Runtime``, kept hot between passes (Note [Hot
/// workers]). A reference type shared by the runtime and its helpers.
final class WorkerHub: @unchecked Sendable {
    /// How long a helper waits for the next pass before it retires, in
    /// nanoseconds (0: helpers retire as soon as their pass ends).
    let window: UInt64
    /// Whether a pass owns the hub.
    private let owned = Atomic<Bool>(false)
    /// Whether the posted pass is still open to helpers.
    private let open = Atomic<Bool>(false)
    /// The number of passes posted so far.
    private let epoch = Atomic<Int>(0)
    /// Helpers inside the posted pass.
    private let joined = Atomic<Int>(0)
    /// Helpers alive: launched and not yet retired.
    private let hot = Atomic<Int>(0)
    /// Helpers launched so far, and helpers started so far (their worker
    /// numbers derive from it).
    private let launched = Atomic<Int>(0)
    private let started = Atomic<Int>(0)
    /// Bumped by ``releaseHelpers()``; its value when the last pass was
    /// posted. While they differ, waiting helpers retire at once (also one
    /// that Dispatch starts only after the release).
    private let releases = Atomic<Int>(0)
    private let releasesAtPost = Atomic<Int>(0)
    /// The worker count of the passes that launched helpers.
    private let helperWorkers = Atomic<Int>(2)
    /// The posted pass's launch record; written by the owner only while no
    /// helper can read it (before `open`, after `joined` reached 0).
    private let slot: UnsafeMutablePointer<ParallelLaunch?>

    /// Helpers launched so far, and helpers alive now (tests).
    var launchedCount: Int { launched.load(ordering: .relaxed) }
    var hotCount: Int { hot.load(ordering: .relaxed) }

    init(window: UInt64) {
        self.window = window
        slot = .allocate(capacity: 1)
        slot.initialize(to: nil)
    }

    deinit {
        slot.deinitialize(count: 1)
        slot.deallocate()
    }

    /// Runs `launch` on the calling thread and `workers - 1` hot helpers,
    /// and returns when its phases are done and no helper is inside it.
    ///
    /// - Returns: `false`, having done nothing, when another pass owns the hub.
    func run(_ launch: ParallelLaunch, workers: Int) -> Bool {
        guard owned.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return false }
        slot.pointee = launch
        releasesAtPost.store(releases.load(ordering: .relaxed), ordering: .relaxed)
        open.store(true, ordering: .sequentiallyConsistent)
        epoch.add(1, ordering: .sequentiallyConsistent)
        let missing = workers - 1 - hot.load(ordering: .sequentiallyConsistent)
        if missing > 0 {
            helperWorkers.store(workers, ordering: .relaxed)
            launchHelpers(missing)
        }
        launch.work(worker: 0)
        open.store(false, ordering: .sequentiallyConsistent)
        var spins = 0
        while joined.load(ordering: .sequentiallyConsistent) > 0 {
            // A helper descheduled inside: give it the core.
            spins += 1
            if spins > 1_000 { sched_yield() } else { spinPause() }
        }
        slot.pointee = nil
        owned.store(false, ordering: .releasing)
        return true
    }

    /// Starts `count` helpers on Dispatch's global queue. Each is handed
    /// the hub, retained for its life (no allocation: the context is the
    /// hub's own pointer), and numbers itself.
    private func launchHelpers(_ count: Int) {
        hot.add(count, ordering: .sequentiallyConsistent)
        launched.add(count, ordering: .relaxed)
        for _ in 0..<count {
            DispatchAsync.run(Unmanaged.passRetained(self).toOpaque()) { raw in
                let hub = Unmanaged<WorkerHub>.fromOpaque(raw!).takeRetainedValue()
                hub.helperLoop(workers: hub.helperWorkers.load(ordering: .relaxed))
            }
        }
    }

    /// A helper's life: wait for a pass, work it, repeat; retire after
    /// ``window`` without one.
    private func helperLoop(workers: Int) {
        // Worker numbers 1..<workers (tracing and NUMA homes only).
        let number = started.add(1, ordering: .relaxed).newValue
        let worker = 1 + (number - 1) % Swift.max(1, workers - 1)
        var seen = 0
        while true {
            var e = epoch.load(ordering: .sequentiallyConsistent)
            if e == seen {
                e = waitForEpoch(after: seen)
                if e == seen {
                    hot.subtract(1, ordering: .sequentiallyConsistent)
                    // A pass posted while retiring may have counted on this
                    // helper: stay for it.
                    guard epoch.load(ordering: .sequentiallyConsistent) != seen else { return }
                    hot.add(1, ordering: .sequentiallyConsistent)
                    continue
                }
            }
            seen = e
            joined.add(1, ordering: .sequentiallyConsistent)
            if open.load(ordering: .sequentiallyConsistent)
                && epoch.load(ordering: .sequentiallyConsistent) == e, let launch = slot.pointee
            {
                launch.work(worker: worker)
            }
            joined.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Spins until the epoch moves past `seen`, the window ends or the
    /// helpers are released; returns the epoch last read.
    private func waitForEpoch(after seen: Int) -> Int {
        let start = DispatchTime.now().uptimeNanoseconds
        var spins = 0
        while true {
            let e = epoch.load(ordering: .sequentiallyConsistent)
            if e != seen { return e }
            spins += 1
            if spins & 63 == 0
                && (DispatchTime.now().uptimeNanoseconds - start >= window
                    || releases.load(ordering: .relaxed)
                        != releasesAtPost.load(ordering: .relaxed))
            {
                return e
            }
            spinPause()
        }
    }

    /// Makes the helpers waiting for a pass retire now instead of at the
    /// end of their window.
    func releaseHelpers() {
        releases.add(1, ordering: .relaxed)
    }
}

/// A short pause in a spin loop (`ck_spin_pause`: x86's PAUSE).
@inline(__always) func spinPause() { ck_spin_pause() }
