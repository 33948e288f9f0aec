/// The work items of a plan as they are scheduled, pass by pass: tasks are
/// ranges of items, phases are ranges of tasks, and every item has a time
/// on the timeline that buffer lifetimes are measured on (Note [Memory
/// reuse]). Cheap blocks go to an open serial phase, which later cheap
/// blocks extend; others become parallel phases of grain-sized tasks.
struct PhaseSchedule {
    let grain: Int
    let inlineThreshold: Int

    /// The items in run order. Later passes rewrite fields in place (join
    /// sources, buffer ids into arena offsets), never the order.
    var items: [WorkItem] = []
    /// Per item, the timeline position it runs at: its own in a serial
    /// phase, its phase's in a parallel one.
    private(set) var itemTime: [Int] = []
    /// Tasks are ranges of items: task t is `taskStart[t]..<taskStart[t + 1]`.
    private(set) var taskStart: [Int] = [0]
    /// Phases are ranges of tasks: phase p is `phaseStart[p]..<phaseStart[p + 1]`.
    private(set) var phaseStart: [Int] = [0]
    /// Phases that one worker runs, and the blocks appended to them.
    private(set) var serialPhases = 0, serialLevels = 0
    private var time = 0
    /// Whether the last phase is a serial one that can take more items.
    private var serialOpen = false

    init(options: PlanOptions) {
        grain = options.grain
        inlineThreshold = options.inlineThreshold
    }

    /// The phases closed so far.
    var phaseCount: Int { phaseStart.count - 1 }
    /// The tasks closed so far.
    var taskCount: Int { taskStart.count - 1 }

    /// Schedules a level's work, then what must wait for all of it (a
    /// two-stage reduction's combine, the joins): one serial block when
    /// both together are cheaper than the inline threshold, else the work
    /// as one phase and the follow-up as another (serial when it is cheap).
    mutating func schedule(level work: WorkBlock, then followUp: WorkBlock) {
        if saturatingSum(work.cost, followUp.cost) < inlineThreshold {
            schedule(work + followUp)
        } else {
            schedule(work)
            schedule(followUp, forceSerial: followUp.cost < inlineThreshold)
        }
    }

    /// Appends a block of items: to the open serial phase when the block is
    /// cheap, else as a parallel phase whose tasks pack items up to the grain.
    /// A glued item stays in the same task as the item before it.
    mutating func schedule(_ block: WorkBlock, forceSerial: Bool = false) {
        guard !block.items.isEmpty else { return }
        if forceSerial || block.cost < inlineThreshold || block.items.count == 1 {
            if !serialOpen {
                serialOpen = true
                serialPhases += 1
            }
            serialLevels += 1
            for item in block.items {
                items.append(item)
                itemTime.append(time)
                time += 1
            }
            return
        }
        closeSerial()
        var acc = 0
        for (k, (item, cost)) in zip(block.items, block.costs).enumerated() {
            items.append(item)
            itemTime.append(time)
            acc = saturatingSum(acc, cost)
            let gluedToNext = k + 1 < block.glue.count && block.glue[k + 1]
            if acc >= grain && !gluedToNext {
                taskStart.append(items.count)
                acc = 0
            }
        }
        if taskStart.last! != items.count { taskStart.append(items.count) }
        phaseStart.append(taskStart.count - 1)
        time += 1
    }

    /// Ends the open serial phase: its items form one task.
    mutating func closeSerial() {
        guard serialOpen else { return }
        serialOpen = false
        taskStart.append(items.count)
        phaseStart.append(taskStart.count - 1)
    }
}

/// A block of work items to schedule together, with each item's estimated
/// cost and whether it is glued to the item before it (same task: a chunk
/// chain's links, a grouped edge's later edges).
struct WorkBlock {
    private(set) var items: [WorkItem] = []
    private(set) var costs: [Int] = []
    private(set) var glue: [Bool] = []

    mutating func append(_ item: WorkItem, cost: Int, gluedToPrevious: Bool = false) {
        items.append(item)
        costs.append(cost)
        glue.append(gluedToPrevious)
    }

    /// The block's total cost (saturating).
    var cost: Int { costs.reduce(0, saturatingSum) }

    static func + (a: WorkBlock, b: WorkBlock) -> WorkBlock {
        WorkBlock(items: a.items + b.items, costs: a.costs + b.costs, glue: a.glue + b.glue)
    }
}
