/// The real thing: memory placed by libnuma, pages located by `move_pages`.
///
/// Blocks are fresh anonymous mappings with a memory policy: bound to one
/// node (`numa_alloc_onnode`) or interleaved over all nodes
/// (`numa_alloc_interleaved`). The policy decides where each page lands
/// when it is first touched, whichever thread touches it.
final class LibNUMASystem: NUMASystem {
    let library: LibNUMA
    let pageSize: Int

    /// A system over a loaded libnuma.
    init(library: LibNUMA, pageSize: Int = LibC.pageSize) {
        self.library = library
        self.pageSize = pageSize
    }

    var kind: NUMASystemKind { .libnuma(library: library.name) }
    var libnuma: LibNUMAStatus { .found(library: library.name) }
    var topology: NUMATopology { library.topology }

    func allocateUnchecked(byteCount: Int, placement: NUMAPlacement) -> NUMABlock? {
        let base: UnsafeMutableRawPointer?
        switch placement {
        case .node(let node): base = library.allocate(byteCount: byteCount, onNode: node)
        case .interleaved: base = library.allocateInterleaved(byteCount: byteCount)
        }
        return base.map { NUMABlock(base: $0, byteCount: byteCount, placement: placement) }
    }

    func free(_ block: NUMABlock) {
        library.free(block.base, byteCount: block.byteCount)
    }

    func bindUnchecked(_ region: UnsafeMutableRawBufferPointer, placement: NUMAPlacement) -> Bool {
        guard let base = region.baseAddress, region.count > 0 else { return true }
        return library.bind(base, byteCount: region.count, placement: placement)
    }

    func node(ofCPU cpu: Int) -> Int? { topology.node(ofCPU: cpu) }

    func currentCPU() -> Int? { LibC.currentCPU() }

    func pageStatus(of region: UnsafeRawBufferPointer) -> [PageStatus]? {
        library.queryPages(pageAddresses(of: region))?.map(PageStatus.init)
    }
}
