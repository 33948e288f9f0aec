// The one file that touches libnuma (and libc's sched_getcpu). libnuma is
// optional: it is loaded at run time with dlopen, never linked, so the
// package builds without its headers and runs and passes its tests on a
// machine without it (placement then falls back to plain 64-byte aligned
// allocation on one node). This is the only file of the NUMA layer with
// `#if os(Linux)`; on other platforms nothing is loaded.
//
// Every libnuma function is reached through a thin wrapper on `LibNUMA`,
// the way swift-system wraps system calls: Swift types in, Swift types
// out, no C pointer kept. Everything above it talks to `NUMASystem`.

import Foundation

#if os(Linux)
    import Glibc
#endif

/// `int numa_available(void)`, `int numa_max_node(void)`,
/// `int numa_num_configured_cpus(void)`.
typealias NUMAIntQuery = @convention(c) () -> Int32
/// `int numa_node_of_cpu(int cpu)`.
typealias NUMANodeOfCPU = @convention(c) (Int32) -> Int32
/// `void *numa_alloc_onnode(size_t size, int node)`.
typealias NUMAAllocOnNode = @convention(c) (Int, Int32) -> UnsafeMutableRawPointer?
/// `void *numa_alloc_interleaved(size_t size)`.
typealias NUMAAllocInterleaved = @convention(c) (Int) -> UnsafeMutableRawPointer?
/// `void numa_free(void *start, size_t size)`.
typealias NUMAFree = @convention(c) (UnsafeMutableRawPointer?, Int) -> Void
/// `long long numa_node_size64(int node, long long *freep)`.
typealias NUMANodeSize64 = @convention(c) (Int32, UnsafeMutablePointer<Int64>?) -> Int64
/// `int numa_bitmask_isbitset(const struct bitmask *, unsigned int)`.
typealias NUMABitmaskIsBitSet = @convention(c) (UnsafeRawPointer?, UInt32) -> Int32
/// `long move_pages(int pid, unsigned long count, void **pages,
/// const int *nodes, int *status, int flags)` (numaif.h; libnuma exports it).
typealias NUMAMovePages =
    @convention(c) (
        Int32, UInt, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafePointer<Int32>?,
        UnsafeMutablePointer<Int32>?, Int32
    ) -> Int
/// `void numa_tonode_memory(void *start, size_t size, int node)`.
typealias NUMAToNodeMemory = @convention(c) (UnsafeMutableRawPointer?, Int, Int32) -> Void
/// `void numa_interleave_memory(void *start, size_t size, struct bitmask *nodes)`.
typealias NUMAInterleaveMemory =
    @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeRawPointer?)
    -> Void
/// `int sched_getcpu(void)` (libc).
typealias SchedGetCPU = @convention(c) () -> Int32

/// What became of libnuma when a ``NUMASystem`` was chosen.
enum LibNUMAStatus: Hashable, Sendable, CustomStringConvertible {
    /// Loaded from the named file, and `numa_available()` succeeded.
    case found(library: String)
    /// Loaded, but `numa_available()` < 0: the kernel has no NUMA support
    /// (or the process may not use it).
    case noNUMASupport(library: String)
    /// Not loadable: no such library, or one without the functions used.
    case notFound(reason: String)
    /// Not looked for, for the reason given.
    case notLoaded(reason: String)

    /// Whether libnuma was found and works.
    var isFound: Bool {
        if case .found = self { return true }
        return false
    }

    var description: String {
        switch self {
        case .found(let library): "found (\(library))"
        case .noNUMASupport(let library): "found (\(library)), but numa_available() < 0"
        case .notFound(let reason): "not found (\(reason))"
        case .notLoaded(let reason): "not loaded (\(reason))"
        }
    }
}

/// libnuma, loaded: the resolved entry points and the topology read once
/// at load.
///
/// Values are created by ``load(names:)`` and never unloaded (the handle is
/// deliberately leaked: function pointers out of it live as long as the
/// process). The type holds only C function pointers and immutable data, so
/// it is safe to share between threads; the libnuma functions it calls
/// after loading (`numa_alloc_onnode`, `numa_alloc_interleaved`,
/// `numa_free`, `move_pages`) are thread-safe.
struct LibNUMA: Sendable {
    /// The file name it was loaded from, e.g. `libnuma.so.1`.
    let name: String
    /// The nodes this process may allocate on (`numa_all_nodes_ptr`), their
    /// CPUs (`numa_node_of_cpu` for each of `numa_num_configured_cpus()`)
    /// and memory (`numa_node_size64`).
    let topology: NUMATopology

    private let allocOnNode: NUMAAllocOnNode
    private let allocInterleaved: NUMAAllocInterleaved
    private let numaFree: NUMAFree
    private let movePages: NUMAMovePages
    /// Optional entry points (every libnuma 2 has them): binding a range
    /// of an existing mapping, and the mask of all nodes to interleave over
    /// (the address of the `struct bitmask`, as a bit pattern).
    private let toNodeMemory: NUMAToNodeMemory?
    private let interleaveMemory: NUMAInterleaveMemory?
    private let allNodesMask: UInt

    /// The shared-library names tried, in order.
    static var libraryNames: [String] { ["libnuma.so.1", "libnuma.so"] }

    /// The outcome of looking for libnuma.
    struct LoadResult: Sendable {
        /// The library, when it loaded and `numa_available()` ≥ 0.
        let library: LibNUMA?
        let status: LibNUMAStatus
    }

    /// The process's libnuma, looked for once, on first use (Swift's lazy,
    /// thread-safe initialisation of static stored properties). Nothing
    /// reads the environment here: `BACKPROP_NUMA=off` is honoured by
    /// ``NUMA/makeSystem(environment:library:cpuCount:)``, which then never asks.
    static let loaded: LoadResult = load()

    /// Looks for libnuma under `names`, in order.
    ///
    /// ``loaded`` is this function's result for ``libraryNames``; tests call
    /// it directly with made-up names. A library without every required
    /// entry point is closed again and skipped. `numa_available()` is
    /// called before anything else, as libnuma requires.
    static func load(names: [String] = libraryNames) -> LoadResult {
        #if os(Linux)
            var reasons: [String] = []
            for name in names {
                switch open(name) {
                case .success(let result): return result
                case .failure(let reason): reasons.append(reason.message)
                }
            }
            return LoadResult(
                library: nil, status: .notFound(reason: reasons.joined(separator: "; ")))
        #else
            _ = names
            return LoadResult(
                library: nil, status: .notLoaded(reason: "not available on this platform"))
        #endif
    }

    /// A zeroed mapping of `byteCount` bytes (whole pages) bound to `node`
    /// (`numa_alloc_onnode`), or `nil`.
    ///
    /// - Precondition: `node` is in ``topology`` (libnuma would otherwise
    ///   print `mbind: Invalid argument` and place the pages anywhere).
    func allocate(byteCount: Int, onNode node: Int) -> UnsafeMutableRawPointer? {
        allocOnNode(byteCount, Int32(node))
    }

    /// A zeroed mapping of `byteCount` bytes interleaved page by page over
    /// all nodes (`numa_alloc_interleaved`), or `nil`.
    func allocateInterleaved(byteCount: Int) -> UnsafeMutableRawPointer? {
        allocInterleaved(byteCount)
    }

    /// Unmaps memory from ``allocate(byteCount:onNode:)`` or
    /// ``allocateInterleaved(byteCount:)`` (`numa_free`).
    func free(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        numaFree(base, byteCount)
    }

    /// Whether ``bind(_:byteCount:placement:)`` can bind ranges.
    var canBind: Bool { toNodeMemory != nil && interleaveMemory != nil && allNodesMask != 0 }

    /// Sets the memory policy of `byteCount` bytes (whole pages) at `base`,
    /// part of a mapping from this library: bound to a node
    /// (`numa_tonode_memory`) or interleaved over all nodes
    /// (`numa_interleave_memory` with `numa_all_nodes_ptr`). Pages already
    /// touched stay where they are; the policy decides where untouched
    /// pages land on first touch. Returns whether the call was made.
    ///
    /// - Precondition: a `.node` placement is in ``topology``.
    func bind(_ base: UnsafeMutableRawPointer, byteCount: Int, placement: NUMAPlacement) -> Bool {
        guard canBind, let toNodeMemory, let interleaveMemory else { return false }
        switch placement {
        case .node(let node): toNodeMemory(base, byteCount, Int32(node))
        case .interleaved:
            interleaveMemory(base, byteCount, UnsafeRawPointer(bitPattern: allNodesMask))
        }
        return true
    }

    /// `move_pages` in query mode (no target nodes): the status word of each
    /// page — a node, or a negative `errno` such as `-ENOENT` for a page
    /// never touched. Querying does not fault pages in.
    ///
    /// - Parameter pages: Page-aligned addresses in this process.
    /// - Returns: One status per page, or `nil` when the call itself failed
    ///   (for example `EPERM` under a restrictive seccomp profile).
    func queryPages(_ pages: [UInt]) -> [Int32]? {
        guard !pages.isEmpty else { return [] }
        var addresses = pages.map { UnsafeMutableRawPointer(bitPattern: $0) }
        var status = [Int32](repeating: 0, count: pages.count)
        let result = addresses.withUnsafeMutableBufferPointer { a in
            status.withUnsafeMutableBufferPointer { s in
                movePages(0, UInt(a.count), a.baseAddress, nil, s.baseAddress, 0)
            }
        }
        return result < 0 ? nil : status
    }

    #if os(Linux)
        /// Why one candidate library was skipped.
        private struct Skipped: Error {
            let message: String
        }

        /// dlopen + dlsym + `numa_available()` for one candidate.
        private static func open(_ name: String) -> Result<LoadResult, Skipped> {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
                return .failure(Skipped(message: "\(name) cannot be opened"))
            }
            func symbol(_ s: String) -> UnsafeMutableRawPointer? { dlsym(handle, s) }
            guard let available = symbol("numa_available"),
                let maxNode = symbol("numa_max_node"),
                let nodeOfCPU = symbol("numa_node_of_cpu"),
                let configuredCPUs = symbol("numa_num_configured_cpus"),
                let allocOnNode = symbol("numa_alloc_onnode"),
                let allocInterleaved = symbol("numa_alloc_interleaved"),
                let numaFree = symbol("numa_free"),
                let movePages = symbol("move_pages")
            else {
                dlclose(handle)
                return .failure(Skipped(message: "\(name) lacks a required function"))
            }
            guard unsafeBitCast(available, to: NUMAIntQuery.self)() >= 0 else {
                dlclose(handle)
                return .success(LoadResult(library: nil, status: .noNUMASupport(library: name)))
            }
            let topology = readTopology(
                maxNode: unsafeBitCast(maxNode, to: NUMAIntQuery.self),
                configuredCPUs: unsafeBitCast(configuredCPUs, to: NUMAIntQuery.self),
                nodeOfCPU: unsafeBitCast(nodeOfCPU, to: NUMANodeOfCPU.self),
                nodeSize: symbol("numa_node_size64").map {
                    unsafeBitCast($0, to: NUMANodeSize64.self)
                },
                isBitSet: symbol("numa_bitmask_isbitset").map {
                    unsafeBitCast($0, to: NUMABitmaskIsBitSet.self)
                },
                allNodes: symbol("numa_all_nodes_ptr"))
            guard let topology else {
                dlclose(handle)
                return .success(LoadResult(library: nil, status: .noNUMASupport(library: name)))
            }
            let mask = symbol("numa_all_nodes_ptr")?.load(as: UnsafeRawPointer?.self)
            let library = LibNUMA(
                name: name, topology: topology,
                allocOnNode: unsafeBitCast(allocOnNode, to: NUMAAllocOnNode.self),
                allocInterleaved: unsafeBitCast(allocInterleaved, to: NUMAAllocInterleaved.self),
                numaFree: unsafeBitCast(numaFree, to: NUMAFree.self),
                movePages: unsafeBitCast(movePages, to: NUMAMovePages.self),
                toNodeMemory: symbol("numa_tonode_memory").map {
                    unsafeBitCast($0, to: NUMAToNodeMemory.self)
                },
                interleaveMemory: symbol("numa_interleave_memory").map {
                    unsafeBitCast($0, to: NUMAInterleaveMemory.self)
                },
                allNodesMask: mask.map { UInt(bitPattern: $0) } ?? 0)
            return .success(LoadResult(library: library, status: .found(library: name)))
        }

        /// The nodes this process may allocate on, with their CPUs and
        /// memory; `nil` if libnuma reports none.
        ///
        /// A node counts when it is set in `numa_all_nodes_ptr` (the
        /// process's allowed memory nodes; cpusets restrict it), or, where
        /// that symbol is missing, when `numa_node_size64` knows it. CPUs of
        /// nodes outside that set are left out: no memory can be placed
        /// there, so their workers use the first node.
        private static func readTopology(
            maxNode: NUMAIntQuery, configuredCPUs: NUMAIntQuery, nodeOfCPU: NUMANodeOfCPU,
            nodeSize: NUMANodeSize64?, isBitSet: NUMABitmaskIsBitSet?,
            allNodes: UnsafeMutableRawPointer?
        ) -> NUMATopology? {
            let highest = Int(maxNode())
            guard highest >= 0, highest < NUMATopology.nodeLimit else { return nil }
            // `numa_all_nodes_ptr` is a `struct bitmask *` variable; dlsym
            // gives its address.
            let mask = allNodes?.load(as: UnsafeRawPointer?.self)
            var cpusOf = [[Int]](repeating: [], count: highest + 1)
            for cpu in 0..<Swift.max(0, Int(configuredCPUs())) {
                let node = Int(nodeOfCPU(Int32(cpu)))
                if node >= 0 && node <= highest { cpusOf[node].append(cpu) }
            }
            var nodes: [NUMATopology.Node] = []
            for id in 0...highest {
                let size = nodeSize.map { Int($0(Int32(id), nil)) }
                let allowed: Bool
                if let isBitSet, let mask {
                    allowed = isBitSet(mask, UInt32(id)) != 0
                } else {
                    allowed = (size ?? 0) >= 0
                }
                guard allowed else { continue }
                nodes.append(
                    NUMATopology.Node(
                        id: id, cpus: cpusOf[id], memoryBytes: size.flatMap { $0 >= 0 ? $0 : nil }))
            }
            return try? NUMATopology(nodes: nodes)
        }
    #endif
}

/// The two things the NUMA layer needs from the C library itself.
enum LibC {
    /// The CPU the calling thread runs on now (`sched_getcpu`), or `nil`
    /// where that is unknown (not Linux, or the call failed).
    static func currentCPU() -> Int? {
        guard let getCPU = schedGetCPU else { return nil }
        let cpu = getCPU()
        return cpu >= 0 ? Int(cpu) : nil
    }

    /// The size of a memory page, in bytes.
    static let pageSize: Int = {
        #if os(Linux)
            let size = sysconf(Int32(_SC_PAGESIZE))
            return size > 0 ? size : 4096
        #else
            return Int(getpagesize())
        #endif
    }()

    /// `sched_getcpu`, resolved once from the global scope (glibc has it;
    /// the header hides it behind `_GNU_SOURCE`).
    private static let schedGetCPU: SchedGetCPU? = {
        #if os(Linux)
            // A nil handle is RTLD_DEFAULT: search the process's global scope.
            return dlsym(nil, "sched_getcpu").map { unsafeBitCast($0, to: SchedGetCPU.self) }
        #else
            return nil
        #endif
    }()
}
