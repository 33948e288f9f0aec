// Pass 6: a training plan's update phases, after the backward pass.

// Note [Optimizer phases]
// A training plan (PlanOptions.optimizer) ends with update phases: after
// the last backward phase — so after every join, when each parameter's
// gradient is complete — each parameter with a gradient is split into
// chunks of elements by the same cost model as every other node (a few
// element-operations per element for SGD, ~16 for Adam), and the chunks
// of all parameters form one block: a parallel phase when the block is
// worth the hand-off, else one serial phase. A chunk updates its
// elements in place from the parameter's value, its gradient and the
// optimizer's state for those elements (Training/OptimizerKernels.swift).
//
// - State (SGD's velocity, Adam's m and v) is one permanent arena buffer
//   per parameter, interleaved per element, so a chunk's state is one
//   contiguous range that only that chunk touches; NUMA placement puts
//   it on the chunk's node (Note [Arena placement]). Parameters stay
//   interleaved: every node's workers read them in the next forward.
// - Determinism: every element's update reads only that element's value,
//   gradient and state and the step's constants, which the caller
//   computes once per step (Adam's bias corrections included). Chunk
//   boundaries only decide who computes an element, never how, so the
//   weights are bitwise identical for any thread count (the gradients
//   already are: Note [Determinism]).
// - The update phases come last and `run` stops before them: a run
//   computes values and gradients and leaves the parameters alone;
//   `step` runs all phases in one pass (one launch of the workers).
// - Scalar tapes (Note [Scalar tape]) run on the calling thread; their
//   plan holds just the update phase, run after the tape
//   (0-TapeLowering.swift).

extension PlanBuilder {
    /// Gives each parameter with a gradient its optimizer state and
    /// schedules the chunks of all of them as one block, then closes it.
    mutating func scheduleUpdates(_ optimizer: Optimizer) {
        var block = WorkBlock()
        for p in parameters where nodeBuffers.gradient[p] >= 0 {
            let count = graph.shape(of: p).count
            nodeBuffers.state[p] = buffers.newBuffer(
                count * optimizer.stateCount, .partial, permanent: true)
            for r in options.chunks(units: count, cost: optimizer.unitCost) {
                block.append(
                    WorkItem(
                        kind: .update, node: Int32(p), slot: 0, accumulate: false,
                        lo: r.lowerBound, hi: r.upperBound, dest: nodeBuffers.value[p],
                        sourceStart: 0, sourceCount: 0),
                    cost: saturatingProduct(r.count, optimizer.unitCost))
            }
        }
        phases.schedule(block)
        phases.closeSerial()
    }
}
