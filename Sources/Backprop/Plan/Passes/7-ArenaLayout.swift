// Pass 7: every buffer's lifetime on the timeline of work items, then its
// place in the arena.

// Note [Memory reuse]
// Every buffer the plan needs (node values, gradients, partial buffers for
// joins, max's scratch) gets a lifetime on a timeline of work items: items
// of a serial phase run one after another, so each gets its own time; items
// of a parallel phase may run at once, so they share the phase's time. A
// buffer lives from the first to the last item that touches it. Buffers
// whose lifetimes do not overlap (one dies strictly before the other is
// born) share arena space: the layout walks buffers in birth order, returns
// dead ones to free lists by exact size, and reuses them before bumping the
// arena. Values that a VJP reads stay alive into the backward pass; values
// no VJP reads (an add's operands, say) are recycled as soon as their last
// forward reader is done. Leaves, the output, the cotangent and input
// gradients are permanent: callers read and write them between runs.

extension PlanBuilder {
    /// Lifetimes: every item touches, at its time, what it reads and writes.
    /// A fused block's items run tile by tile, each again after the
    /// others (Note [Fused backward]): in a serial phase, where items have
    /// times of their own, what they touch lives across the whole block.
    mutating func recordLifetimes() {
        var blockEnd = -1
        var span = 0...0
        var touched: [Int] = []
        for (k, item) in phases.items.enumerated() {
            if item.kind == .tile {
                blockEnd = k + Int(item.sourceCount)
                span = phases.itemTime[k]...phases.itemTime[blockEnd]
            }
            let times = k <= blockEnd ? span : phases.itemTime[k]...phases.itemTime[k]
            touched.removeAll(keepingCapacity: true)
            forEachBuffer(touchedBy: item) { touched.append($0) }
            for b in touched {
                buffers.touch(b, times.lowerBound)
                buffers.touch(b, times.upperBound)
            }
        }
    }

    /// Calls `body` with every buffer `item` reads or writes (a buffer may
    /// come more than once).
    func forEachBuffer(touchedBy item: WorkItem, _ body: (Int) -> Void) {
        let j = Int(item.node)
        let value = nodeBuffers.value, gradient = nodeBuffers.gradient
        let aux = nodeBuffers.aux
        switch item.kind {
        case .reducePartial:
            body(item.dest)
            for p in graph.parents(of: j) { body(value[p]) }
        case .reduceCombine:
            body(item.dest)
            body(value[j])
            if aux[j] >= 0 { body(aux[j]) }
        case .forward:
            body(value[j])
            for p in graph.parents(of: j) { body(value[p]) }
            if aux[j] >= 0 { body(aux[j]) }
        case .vjp, .customVJP:
            body(gradient[j])
            let reads = kernels[j].vjpReads
            if reads.output { body(value[j]) }
            if reads.inputs { for p in graph.parents(of: j) { body(value[p]) } }
            if aux[j] >= 0 { body(aux[j]) }
            if item.kind == .vjp {
                body(item.dest)
            } else {
                let parentStart = graph.table.parentStart
                for e in parentStart[j]..<parentStart[j + 1] where edges.dest[e] >= 0 {
                    body(edges.dest[e])
                }
            }
        case .join:
            body(item.dest)
            for s in joinSources[Int(item.sourceStart)..<Int(item.sourceStart + item.sourceCount)] {
                body(s)
            }
        case .seed:
            body(item.dest)
            body(nodeBuffers.cotangent)
        case .zero:
            body(item.dest)
        case .recompute:
            for p in graph.parents(of: j) { body(value[p]) }
        case .tile:
            break
        case .update:
            body(item.dest)
            body(gradient[j])
            body(nodeBuffers.state[j])
        }
    }

    /// Note [Planned traffic]
    /// What a pass moves through memory, as the planner sees it: within one
    /// phase, every buffer that an item reads or writes counts once and
    /// whole — a chunk chain's intermediates are read back from cache, and
    /// a node computed in place (Note [In-place chains]) adds nothing —
    /// and across phases again (a level's output is read from memory by
    /// the next level). A model, not a measurement: a serial phase merging
    /// many small levels counts each buffer once though it may be touched
    /// at several times, and caches may hold a buffer across phases.
    /// Fused and unfused plans of S3 compare 224 against 726 MB of
    /// forward traffic (docs/benchmarks.md has every workload's).
    mutating func recordPlannedTraffic() {
        let stride = MemoryLayout<T>.stride
        var seen = [Int](repeating: -1, count: buffers.count)
        var perPhase = [Int](repeating: 0, count: phases.phaseCount)
        for phase in 0..<phases.phaseCount {
            for task in phases.phaseStart[phase]..<phases.phaseStart[phase + 1] {
                for k in phases.taskStart[task]..<phases.taskStart[task + 1] {
                    forEachBuffer(touchedBy: phases.items[k]) { b in
                        guard b >= 0, seen[b] != phase else { return }
                        seen[b] = phase
                        perPhase[phase] = saturatingSum(
                            perPhase[phase], saturatingProduct(buffers.size[b], stride))
                    }
                }
            }
        }
        func total(_ r: Range<Int>) -> Int { perPhase[r].reduce(0, saturatingSum) }
        statistics.forwardBytes = total(0..<forwardPhaseCount)
        statistics.backwardBytes = total(forwardPhaseCount..<updatePhaseStart)
        statistics.updateBytes = total(updatePhaseStart..<phases.phaseCount)
    }
}

/// Where the layout put each buffer.
struct ArenaLayout {
    /// Per buffer: its offset in the arena, in elements (-1: no item
    /// touches it, so it has no place).
    let offset: [Int]
    /// The arena's size in elements.
    let count: Int
    /// What the arena's size would be without reuse.
    let unsharedCount: Int
}

extension BufferTable {
    /// Assigns arena offsets (see Note [Memory reuse]).
    func layout() -> ArenaLayout {
        var offset = [Int](repeating: -1, count: count)
        func rounded(_ size: Int) -> Int { (size + 15) / 16 * 16 }
        var bump = 0
        var unshared = 0
        // Permanent buffers first — the values callers set (leaves, the
        // cotangent) ahead of the rest, so that they share few pages with
        // buffers placed elsewhere (Note [Arena placement]) — then the rest
        // in birth order.
        var order = (0..<count).filter { death[$0] >= 0 }
        func key(_ b: Int) -> (Int, Int, Int) {
            (birth[b], role[b] == .parameter ? 0 : 1, b)
        }
        order.sort { key($0) < key($1) }
        var free: [Int: [Int]] = [:]
        var heap = MinHeap()  // live buffers by death time
        for b in order {
            let size = rounded(self.size[b])
            unshared += size
            while let top = heap.peek, top.key < birth[b] {
                heap.pop()
                free[rounded(self.size[top.value]), default: []].append(offset[top.value])
            }
            if let reused = free[size]?.popLast() {
                offset[b] = reused
            } else {
                offset[b] = bump
                bump += size
            }
            if death[b] != Int.max { heap.push(key: death[b], value: b) }
        }
        return ArenaLayout(offset: offset, count: bump, unsharedCount: unshared)
    }
}

/// A binary min-heap of (key, value) pairs.
private struct MinHeap {
    private var keys: [Int] = []
    private var values: [Int] = []

    var peek: (key: Int, value: Int)? { keys.isEmpty ? nil : (keys[0], values[0]) }

    mutating func push(key: Int, value: Int) {
        keys.append(key)
        values.append(value)
        var i = keys.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard keys[i] < keys[parent] else { break }
            keys.swapAt(i, parent)
            values.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() {
        keys.swapAt(0, keys.count - 1)
        values.swapAt(0, values.count - 1)
        keys.removeLast()
        values.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < keys.count && keys[l] < keys[m] { m = l }
            if r < keys.count && keys[r] < keys[m] { m = r }
            if m == i { break }
            keys.swapAt(i, m)
            values.swapAt(i, m)
            i = m
        }
    }
}
