// Runtime benchmarks for the level scheduler and the scalar tape.
//   swift run -c release runtime-benchmarks [--quick]
// Prints Markdown tables: medians over repeated runs after a warm-up.
import Backprop
import BackpropWorkloads
import Dispatch
import Foundation

let quick = CommandLine.arguments.contains("--quick")

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// The median wall time of `body` over `repeats` runs after one warm-up, in ns.
func median(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var times: [Double] = []
    for _ in 0..<repeats {
        let t0 = now()
        try body()
        times.append(Double(now() - t0))
    }
    times.sort()
    return times[times.count / 2]
}

func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }

let cores = ProcessInfo.processInfo.activeProcessorCount
print("# Runtime benchmarks\n")
print("cores: \(cores), BLAS: \(Runtime.blasDescription), quick: \(quick)\n")

// MARK: S1 scalar DAG

/// A hand-written flat tape for S1, the baseline: the same graph in plain arrays.
struct HandTape {
    var op: [UInt8] = []  // 0 input, 1 add, 2 tanh, 3 mul, 4 sin
    var a: [Int32] = []
    var b: [Int32] = []
    var output: [Int32] = []

    init(nodes: Int) {
        var g = WorkloadGenerator(seed: 42)
        var logical: [Int32] = []
        func push(_ o: UInt8, _ x: Int32, _ y: Int32) -> Int32 {
            op.append(o)
            a.append(x)
            b.append(y)
            return Int32(op.count - 1)
        }
        for _ in 0..<64 { logical.append(push(0, 0, 0)) }
        for i in 64..<nodes {
            let x = logical[i - 64 + g.draw64()]
            let y = logical[g.draw64()]
            switch i % 3 {
            case 0: logical.append(push(2, push(1, x, y), 0))
            case 1: logical.append(push(3, x, y))
            default: logical.append(push(4, x, 0))
            }
        }
        output = Array(logical[(nodes - 64)...])
        // Like any graph executor worth comparing with, evaluate only what ω
        // depends on: mark the cone, then keep its nodes in order.
        var live = [Bool](repeating: false, count: op.count)
        for o in output { live[Int(o)] = true }
        for i in stride(from: op.count - 1, through: 64, by: -1) where live[i] {
            live[Int(a[i])] = true
            if op[i] == 1 || op[i] == 3 { live[Int(b[i])] = true }
        }
        cone = (64..<op.count).filter { live[$0] }
    }

    var cone: [Int] = []

    func run(_ v: inout [Double], _ adj: inout [Double]) -> Double {
        let n = op.count
        for i in 0..<64 { v[i] = sin(Double(i + 1)) }
        for i in cone {
            let x = v[Int(a[i])], y = v[Int(b[i])]
            switch op[i] {
            case 1: v[i] = x + y
            case 2: v[i] = tanh(x)
            case 3: v[i] = x * y
            default: v[i] = sin(x)
            }
        }
        var omega = 0.0
        for o in output { omega += v[Int(o)] }
        for i in 0..<n { adj[i] = 0 }
        for o in output { adj[Int(o)] = 1 }
        for i in cone.reversed() {
            let g = adj[i], ia = Int(a[i]), ib = Int(b[i])
            switch op[i] {
            case 1:
                adj[ia] += g
                adj[ib] += g
            case 2: adj[ia] += g * (1 - v[i] * v[i])
            case 3:
                adj[ia] += g * v[ib]
                adj[ib] += g * v[ia]
            default: adj[ia] += g * cos(v[ia])
            }
        }
        return omega
    }
}

print("## S1 scalar-dag (float64), ns per logical node\n")
print(
    "Per logical node of N; both tapes evaluate only the nodes ω depends on (the cone).\n\n"
        + "| N | cone | eager: build + plan + fwd + bwd | plan re-execution (tape) | level scheduler, 1 thread "
        + "| level scheduler, 2 threads | hand-written tape | tape / hand | ω |"
)
print("|---|---|---|---|---|---|---|---|---|")
for n in quick ? [10_000] : [10_000, 1_000_000] {
    let reps = n > 100_000 ? 5 : 50
    let eager = try median(n > 100_000 ? 3 : 20) {
        let e = try Execution(plan: Plan(try Workloads.scalarDAG(nodes: n)))
        try e.run()
    }
    let graph = try Workloads.scalarDAG(nodes: n)
    let execution = try Execution(plan: Plan(graph))
    let tape = try median(reps) { try execution.run() }
    var levelTimes: [Double] = []
    for threads in [1, 2] {
        let levels = try Execution(plan: Plan(graph, options: PlanOptions(scalarTape: false)))
        let runtime = Runtime(threads: threads)
        levelTimes.append(try median(reps) { try levels.run(on: runtime) })
    }
    let hand = HandTape(nodes: n)
    var v = [Double](repeating: 0, count: hand.op.count), adj = v
    var omega = 0.0
    let handTime = median(reps) { omega = hand.run(&v, &adj) }
    let per = Double(n)
    print(
        "| \(n) | \(graph.forwardOrder.count) | \(fmt(eager / per)) | \(fmt(tape / per)) | \(fmt(levelTimes[0] / per)) | \(fmt(levelTimes[1] / per)) | \(fmt(handTime / per)) | \(fmt(tape / handTime, 2)) | \(execution.output.scalar!) (hand \(omega)) |"
    )
}

// MARK: Scheduler shapes

print("\n## Scheduler shapes, forward + backward, ns per node\n")
print("| shape | nodes | tape | levels, 1 thread | levels, 2 threads | phases (levels path) |")
print("|---|---|---|---|---|---|")
let shapes: [(String, () throws -> Graph<Double>)] = [
    ("linear chain", { try Workloads.linearChain(nodes: quick ? 100_000 : 1_000_000) }),
    ("wavefront 64×64", { try Workloads.wavefront(side: 64) }),
    ("random levels 256×256", { try Workloads.randomLevels(levels: 256, width: 256) }),
]
for (name, make) in shapes {
    let graph = try make()
    let reps = graph.count > 100_000 ? 5 : 30
    let tape = try Execution(plan: Plan(graph))
    let tapeTime = try median(reps) { try tape.run() }
    var times: [Double] = []
    var phases = 0
    for threads in [1, 2] {
        let plan = Plan(graph, options: PlanOptions(scalarTape: false))
        phases = plan.statistics.forwardPhases + plan.statistics.backwardPhases
        let e = try Execution(plan: plan)
        let runtime = Runtime(threads: threads)
        times.append(try median(reps) { try e.run(on: runtime) })
    }
    let per = Double(graph.count)
    print(
        "| \(name) | \(graph.count) | \(fmt(tapeTime / per)) | \(fmt(times[0] / per)) | \(fmt(times[1] / per)) | \(phases) |"
    )
}

// MARK: Join overhead

print("\n## Level join overhead\n")
do {
    // 2 independent 64-element nodes per level, every level forced parallel.
    let levels = quick ? 200 : 1000
    let b = GraphBuilder<Float>()
    var left = b.input("a", .zeros([64])), right = b.input("b", .zeros([64]))
    for _ in 0..<levels {
        (left, right) = (left + 1, right + 1)
    }
    let graph = try b.build(output: (left + right).sum())
    let options = PlanOptions(gradients: false, grain: 1, inlineThreshold: 0, maxChunksPerNode: 1)
    let plan = Plan(graph, options: options)
    var perPhase: [Double] = []
    for threads in [1, 2] {
        let e = try Execution(plan: plan)
        let runtime = Runtime(threads: threads)
        perPhase.append(
            try median(30) { try e.run(on: runtime) } / Double(plan.statistics.forwardPhases))
    }
    // The alternative: one concurrentPerform per level.
    var sink = [Float](repeating: 0, count: 128)
    let perform = sink.withUnsafeMutableBufferPointer { buffer in
        let shared = UnsafeSendableBuffer(buffer)
        return median(30) {
            for _ in 0..<levels {
                DispatchQueue.concurrentPerform(iterations: 2) { w in
                    for k in 0..<64 { shared.buffer[w * 64 + k] += 1 }
                }
            }
        } / Double(levels)
    }
    print("| per level (2 tasks of 64 elements) | µs |")
    print("|---|---|")
    print("| claiming workers, 1 thread (inline) | \(fmt(perPhase[0] / 1000, 3)) |")
    print(
        "| claiming workers + spin-then-park barrier, 2 threads | \(fmt(perPhase[1] / 1000, 3)) |")
    print("| one concurrentPerform per level, 2 threads | \(fmt(perform / 1000, 3)) |")
    _ = sink
}

struct UnsafeSendableBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Float>
    init(_ b: UnsafeMutableBufferPointer<Float>) { buffer = b }
}

// MARK: S3 wide DAG

print("\n## S3 wide-dag (float32), forward + backward\n")
do {
    let length = quick ? 4096 : 16_384
    let graph = try Workloads.wideDAG(length: length)
    let plan = Plan(graph)
    let bytes = Workloads.wideDAGBytes(length: length)
    // 1 and 2 threads alternate, so that drift on a shared machine hits both.
    let one = try Execution(plan: plan), two = try Execution(plan: plan)
    let r1 = Runtime(threads: 1), r2 = Runtime(threads: 2)
    try one.run(on: r1)
    try two.run(on: r2)
    var t1: [Double] = [], t2: [Double] = [], ratios: [Double] = []
    // Pairs in alternating order, so neither side always runs first.
    for round in 0..<(quick ? 3 : 15) {
        var a = 0.0, b = 0.0
        for side in round % 2 == 0 ? [1, 2] : [2, 1] {
            let t0 = now()
            if side == 1 { try one.run(on: r1) } else { try two.run(on: r2) }
            if side == 1 { a = Double(now() - t0) } else { b = Double(now() - t0) }
        }
        t1.append(a)
        t2.append(b)
        ratios.append(a / b)
    }
    func med(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
    print("| threads | ms | GB/s |")
    print("|---|---|---|")
    print("| 1 | \(fmt(med(t1) / 1e6, 2)) | \(fmt(bytes / med(t1), 2)) |")
    print("| 2 | \(fmt(med(t2) / 1e6, 2)) | \(fmt(bytes / med(t2), 2)) |")
    print(
        "\nspeed-up at 2 threads, median of \(ratios.count) paired runs: \(fmt(med(ratios), 2))× "
            + "(range \(fmt(ratios.min()!, 2))–\(fmt(ratios.max()!, 2))×)")

    // Scheduler efficiency, independent of the machine's clock drift: how
    // busy each worker was (trace) and how much more work 2 threads did.
    one.isTracing = true
    two.isTracing = true
    try one.run(on: r1)
    try two.run(on: r2)
    func busy(_ e: Execution<Float>) throws -> (total: Double, wall: Double) {
        let trace =
            try JSONSerialization.jsonObject(with: Data(e.chromeTrace()!.utf8)) as! [String: Any]
        let slices = (trace["traceEvents"] as! [[String: Any]]).filter {
            $0["ph"] as? String == "X"
        }
        return (
            slices.reduce(0) { $0 + ($1["dur"] as! Double) },
            Double(e.lastRunStatistics.totalNanoseconds) / 1000
        )
    }
    let (busy1, wall1) = try busy(one), (busy2, wall2) = try busy(two)
    print(
        "worker utilisation at 2 threads: \(fmt(100 * busy2 / (2 * wall2)))%; work at 2 threads vs 1: \(fmt(100 * busy2 / busy1))%; utilisation at 1 thread: \(fmt(100 * busy1 / wall1))%"
    )
}

// MARK: S2 MLP

print("\n## S2 mlp (float32, batch 128), forward + backward\n")
do {
    let graph = try Workloads.mlp()
    let plan = Plan(graph)
    print("| threads | ms per step | GFLOP/s |")
    print("|---|---|---|")
    for threads in [1, 2] {
        let e = try Execution(plan: plan)
        let runtime = Runtime(threads: threads)
        let t = try median(quick ? 3 : 10) { try e.run(on: runtime) }
        print("| \(threads) | \(fmt(t / 1e6, 2)) | \(fmt(Workloads.mlpFlopsPerStep / t, 1)) |")
    }
}

// MARK: Planning

print("\n## Planning time\n")
print("| graph | nodes | ns per node |")
print("|---|---|---|")
let planned: [(String, Graph<Double>, PlanOptions)] = [
    ("S1 (tape)", try Workloads.scalarDAG(nodes: quick ? 10_000 : 1_000_000), PlanOptions()),
    (
        "S1 (levels)", try Workloads.scalarDAG(nodes: quick ? 10_000 : 100_000),
        PlanOptions(scalarTape: false)
    ),
    ("random levels (levels)", try Workloads.randomLevels(), PlanOptions(scalarTape: false)),
]
for (name, graph, options) in planned {
    let t = median(5) { _ = Plan(graph, options: options) }
    print("| \(name) | \(graph.count) | \(fmt(t / Double(graph.count))) |")
}
