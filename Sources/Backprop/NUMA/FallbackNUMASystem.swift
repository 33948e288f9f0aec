/// No NUMA: one node (id 0), plain 64-byte aligned allocation.
///
/// Used when libnuma is missing, when `numa_available()` < 0, on platforms
/// other than Linux, and when `BACKPROP_NUMA=off`. Every placement request
/// for node 0 or interleaved memory succeeds with ordinary heap memory;
/// page queries are not answered.
final class FallbackNUMASystem: NUMASystem {
    let topology: NUMATopology
    let libnuma: LibNUMAStatus
    /// Why NUMA is not used, e.g. `"disabled by BACKPROP_NUMA=off"`.
    let reason: String

    /// The alignment of every block, in bytes (a cache line).
    static var alignment: Int { 64 }

    /// A one-node system.
    ///
    /// - Parameters:
    ///   - reason: Why NUMA is not used, for reports.
    ///   - libnuma: What became of libnuma.
    ///   - cpuCount: The CPUs of node 0 (`0..<cpuCount`).
    init(reason: String, libnuma: LibNUMAStatus, cpuCount: Int) {
        self.reason = reason
        self.libnuma = libnuma
        self.topology = .singleNode(cpuCount: cpuCount)
    }

    var kind: NUMASystemKind { .fallback(reason: reason) }

    /// Blocks are rounded to this many bytes, like pages elsewhere; the
    /// real page size keeps arenas' block arithmetic the same on every
    /// system.
    var pageSize: Int { LibC.pageSize }

    func allocateUnchecked(byteCount: Int, placement: NUMAPlacement) -> NUMABlock? {
        let base = UnsafeMutableRawPointer.allocate(
            byteCount: byteCount, alignment: Self.alignment)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        return NUMABlock(base: base, byteCount: byteCount, placement: placement)
    }

    func free(_ block: NUMABlock) { block.base.deallocate() }

    /// One node: every page is already where it can be.
    func bindUnchecked(_ region: UnsafeMutableRawBufferPointer, placement: NUMAPlacement) -> Bool {
        true
    }

    func node(ofCPU cpu: Int) -> Int? { cpu >= 0 ? topology.nodes[0].id : nil }

    func currentCPU() -> Int? { LibC.currentCPU() }

    func pageStatus(of region: UnsafeRawBufferPointer) -> [PageStatus]? { nil }
}
