import Foundation

// Note [NUMA placement]
// On a machine with several NUMA nodes a thread reads memory on its own
// node faster (and without crossing the interconnect) than memory on
// another, so an execution's memory is placed by who writes and who reads
// it. What the code does:
//
// - One arena per execution (Note [Memory reuse]), bound page by page
//   (Note [Arena placement] in Memory/ArenaPlacement.swift): a page goes to
//   the node whose tasks write most of its bytes — so values, gradients and
//   partial buffers produced by a chunk live on the node of the chunk's
//   home, and optimizer state on the node of its update chunk — and the
//   values callers set (inputs, read-mostly parameters, constants, the
//   cotangent) are interleaved over all nodes, so every node's workers
//   share the bandwidth of reading them. With one node the arena is one
//   block on it.
// - Workers find their node when a pass starts, from `sched_getcpu` and the
//   topology (``NUMASystem/currentNode()``; Dispatch cannot pin threads),
//   and claim their node's tasks first (``PassState``, ``TaskAffinity``);
//   a thread that migrates later only costs speed, never correctness.
// - Alignment: the arena starts on a page and every buffer on a 16-element
//   boundary (64 bytes for Float).
// - Node ids are validated against the topology before anything is
//   allocated or bound: libnuma silently places memory elsewhere for an
//   invalid node (printing `mbind: Invalid argument`), which would make a
//   wrong placement invisible.
//
// Placement changes where bytes live, never which bytes are computed:
// results are bitwise identical with NUMA on, off or simulated. Placement
// is verified with `move_pages` in query mode (``NUMASystem/pageStatus(of:)``),
// not with timings.

/// Chooses the process's ``NUMASystem`` from its configuration.
///
/// ```swift
/// let system = try NUMA.makeSystem(environment: ProcessInfo.processInfo.environment)
/// print(system.summary)  // "libnuma (libnuma.so.1), 1 node"
/// ```
///
/// Everything is passed in (the environment, the libnuma load result, the
/// CPU count), so tests never depend on the process's own environment.
enum NUMA {
    /// `off` (or `0`, `false`, `no`, `none`) disables NUMA use entirely;
    /// `on` (or `1`, `true`, `yes`, `auto`, or unset) allows it.
    static var switchVariable: String { "BACKPROP_NUMA" }

    /// A topology to simulate, e.g. `0:0-7;1:8-15` (see
    /// ``NUMATopology/init(parsing:)``).
    static var topologyVariable: String { "BACKPROP_NUMA_TOPOLOGY" }

    /// Whether `value` (of ``switchVariable``) allows NUMA use.
    ///
    /// - Throws: ``NUMAError/invalidSetting(variable:value:expected:)`` for
    ///   a value that is neither on nor off.
    static func isEnabled(by value: String?) throws(NUMAError) -> Bool {
        guard let value else { return true }
        switch value.lowercased() {
        case "", "on", "1", "true", "yes", "auto": return true
        case "off", "0", "false", "no", "none": return false
        default:
            throw .invalidSetting(variable: switchVariable, value: value, expected: "on or off")
        }
    }

    /// The system that placement uses, given a configuration:
    ///
    /// 1. ``switchVariable`` off: ``FallbackNUMASystem``; libnuma is not
    ///    even loaded, and a topology override is ignored.
    /// 2. ``topologyVariable`` set (and not empty): ``SimulatedNUMASystem``
    ///    over the parsed topology. It records placement but never binds
    ///    real memory, so it is for testing policy, not for tuning a
    ///    machine.
    /// 3. libnuma loaded and `numa_available()` ≥ 0: ``LibNUMASystem``.
    /// 4. Otherwise: ``FallbackNUMASystem``, saying why.
    ///
    /// - Parameters:
    ///   - environment: The variables to read (the process's, or a test's).
    ///   - library: libnuma, looked for only when needed; by default the
    ///     process's ``LibNUMA/loaded``.
    ///   - cpuCount: The CPUs of the fallback's single node.
    /// - Throws: ``NUMAError/invalidSetting(variable:value:expected:)``,
    ///   ``NUMAError/invalidTopology(_:)``: a configuration is never
    ///   silently ignored when it is wrong.
    static func makeSystem(
        environment: [String: String],
        library: @autoclosure () -> LibNUMA.LoadResult = LibNUMA.loaded,
        cpuCount: Int = ProcessInfo.processInfo.processorCount
    ) throws(NUMAError) -> any NUMASystem {
        if let value = environment[switchVariable], try !isEnabled(by: value) {
            let reason = "disabled by \(switchVariable)=\(value)"
            return FallbackNUMASystem(
                reason: reason, libnuma: .notLoaded(reason: reason), cpuCount: cpuCount)
        }
        if let text = environment[topologyVariable], !text.isEmpty {
            let topology = try NUMATopology(parsing: text)
            return SimulatedNUMASystem(
                topology: topology, source: "\(topologyVariable)=\(text)",
                libnuma: library().status)
        }
        let loaded = library()
        if let found = loaded.library { return LibNUMASystem(library: found) }
        let reason: String
        switch loaded.status {
        case .found, .noNUMASupport: reason = "numa_available() < 0"
        case .notFound: reason = "libnuma not found"
        case .notLoaded(let why): reason = why
        }
        return FallbackNUMASystem(reason: reason, libnuma: loaded.status, cpuCount: cpuCount)
    }
}
