import Foundation

/// What the last run of an ``Execution`` did, and how long each phase took.
public struct RunStatistics: Sendable, Equatable {
    /// Levels with work, phases (forward, backward), tasks and serial phases, from the plan.
    public let levels: Int
    public let forwardPhases: Int
    public let backwardPhases: Int
    /// Optimizer update phases in the plan (run by steps only).
    public let updatePhases: Int
    public let tasks: Int
    public let serialPhases: Int
    /// Whether the run was a scalar tape (no phases).
    public let scalarTape: Bool
    /// Workers the runtime offered (1 when the plan has no parallel phase).
    public let workers: Int
    /// Wall time of each phase the run ran, in order (forward phases first;
    /// update phases only after a step).
    public let phaseNanoseconds: [Int]
    /// Wall time of the whole run.
    public let totalNanoseconds: Int
}

extension Execution {
    /// Statistics of the last run (zeros before the first).
    public var lastRunStatistics: RunStatistics {
        let s = plan.statistics
        var phases: [Int] = []
        var previous = runStart
        for p in 0..<phasesRun {
            let end = phaseEnd.base[p]
            phases.append(end >= previous ? Int(end - previous) : 0)
            previous = end
        }
        return RunStatistics(
            levels: s.levels, forwardPhases: s.forwardPhases, backwardPhases: s.backwardPhases,
            updatePhases: s.updatePhases,
            tasks: s.tasks, serialPhases: s.serialPhases, scalarTape: s.scalarTape,
            workers: workersUsed,
            phaseNanoseconds: phases,
            totalNanoseconds: runEnd >= runStart ? Int(runEnd - runStart) : 0)
    }

    /// The last run as Chrome trace-event JSON (one track per worker, one
    /// slice per task), for `chrome://tracing` or Perfetto; `nil` unless
    /// ``isTracing`` was on for that run and it ran phases.
    ///
    /// Slices are named after their work: `forward tanh#12 [0..<4096]`, or
    /// the number of items of a serial task.
    public func chromeTrace() -> String? {
        guard tracedLastRun, plan.tables.tape == nil, plan.tables.taskCount > 0 else { return nil }
        var events: [String] = []
        for w in 0..<workersUsed {
            events.append(
                #"{"name":"thread_name","ph":"M","pid":1,"tid":\#(w),"args":{"name":"worker \#(w)"}}"#
            )
        }
        for p in 0..<phasesRun {
            for t in plan.tables.phaseStart[p]..<plan.tables.phaseStart[p + 1] {
                let start = taskTimes.base[2 * t], end = taskTimes.base[2 * t + 1]
                guard start >= runStart, end >= start else { continue }
                let ts = Double(start - runStart) / 1000, dur = Double(end - start) / 1000
                let name = JSONString.quoted(taskName(t))
                let stage =
                    p < plan.tables.forwardPhaseCount
                    ? "forward" : p < plan.tables.updatePhaseStart ? "backward" : "update"
                events.append(
                    #"{"name":\#(name),"cat":"\#(stage)","ph":"X","pid":1,"tid":\#(taskWorker.base[t]),"ts":\#(ts),"dur":\#(dur),"args":{"phase":\#(p),"task":\#(t),"items":\#(plan.tables.taskStart[t + 1] - plan.tables.taskStart[t])}}"#
                )
            }
        }
        return "{\"traceEvents\":[\n" + events.joined(separator: ",\n")
            + "\n],\"displayTimeUnit\":\"ns\"}\n"
    }

    private func taskName(_ t: Int) -> String {
        let first = plan.tables.taskStart[t], last = plan.tables.taskStart[t + 1]
        let item = plan.tables.items[first]
        let node = plan.graph.name(of: Int(item.node))
        if last - first == 1 {
            switch item.kind {
            case .forward: return "forward \(node) [\(item.lo)..<\(item.hi)]"
            case .reducePartial: return "partials \(node) [\(item.lo)..<\(item.hi)]"
            case .reduceCombine: return "combine \(node) [\(item.lo)..<\(item.hi)]"
            case .vjp: return "vjp \(node) arg \(item.slot) [\(item.lo)..<\(item.hi)]"
            case .customVJP: return "vjp \(node)"
            case .join: return "join \(node) [\(item.lo)..<\(item.hi)]"
            case .seed: return "seed \(node)"
            case .zero: return "zero \(node)"
            case .tile: return "fused block at \(node) [\(item.lo)..<\(item.hi)]"
            case .recompute: return "recompute \(node) [\(item.lo)..<\(item.hi)]"
            case .update: return "update \(node) [\(item.lo)..<\(item.hi)]"
            }
        }
        return "\(last - first) items from \(node)"
    }
}
