import Foundation

/// A graph compiled for repeated execution: levels split into chunks by
/// estimated cost, phases separated by joins, and a buffer layout in one
/// arena with buffers reused by liveness. Compile once, run many times
/// through ``Execution``s (one per concurrent caller).
///
/// ```swift
/// let plan = try Plan(graph)
/// let execution = try Execution(plan: plan)
/// try execution.run(on: .shared)
/// execution.gradient(of: "x")
/// ```
///
/// - Complexity: compiling is O(nodes + edges + chunks).
public final class Plan<Element: TensorElement>: Sendable {
    /// The compiled graph.
    public let graph: Graph<Element>
    /// The options it was compiled with.
    public let options: PlanOptions
    /// What the compiler produced.
    public let statistics: PlanStatistics

    /// Whether matrix products go through the BLAS.
    public let usesBLAS: Bool
    /// The tables a pass reads (kernels, offsets, items, tasks, phases, …).
    /// Readers name them through it (`plan.tables.items`), not through
    /// forwarding properties here: the planner's output stays one value,
    /// and adding a table does not touch this class.
    let tables: PlanTables

    /// Compiles a graph.
    ///
    /// - Throws: ``GraphError/nonScalarOutput(node:shape:)`` is *not*
    ///   thrown here: a plan for a tensor output seeds the backward pass with
    ///   a cotangent (``Execution/setCotangent(_:)``), ones by default.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public init(_ graph: Graph<Element>, options: PlanOptions = PlanOptions()) {
        let start = DispatchTime.now().uptimeNanoseconds
        var builder = PlanBuilder(graph: graph, options: options)
        let built = builder.build()
        self.graph = graph
        self.options = options
        tables = built.tables
        usesBLAS = options.useBLAS && BLAS.shared != nil
        var stats = built.statistics
        stats.compileNanoseconds = Int(DispatchTime.now().uptimeNanoseconds - start)
        statistics = stats
    }
}

extension Plan {
    /// Where an execution of this plan, created on `runtime` by the calling
    /// thread, places its memory: the runtime's NUMA topology, whether
    /// libnuma was found, and per node the bytes of values, gradients,
    /// partials and parameters (see `docs/numa.md`).
    ///
    /// ```swift
    /// print(plan.placementReport(on: runtime))
    /// ```
    public func placementReport(on runtime: Runtime = .shared) -> PlacementReport {
        let system = runtime.numa
        let placement = ArenaPlacement(
            plan: self, topology: system.topology, pageSize: system.pageSize,
            home: system.currentNode())
        return PlacementReport(system: system, record: placement.record)
    }
}
