import Foundation
import Testing

@testable import Backprop

// The NUMA layer: topology parsing, the system seam (a simulated two-node
// machine, the fallback), arenas and the placement report, and — where
// libnuma is installed — real placement checked with move_pages.

/// The simulated page size of these tests.
private let testPageSize = 4096

/// A simulated machine with two nodes of two CPUs each, whose current
/// thread "runs" on `cpu`.
private func twoNodes(cpu: Int? = 0) -> SimulatedNUMASystem {
    SimulatedNUMASystem(
        topology: try! NUMATopology(parsing: "0:0-1;1:2-3"), pageSize: testPageSize,
        currentCPU: { cpu })
}

/// The NUMAError that `body` throws, or `nil` (recorded as an issue) when it
/// throws none or another error.
private func numaError<R>(
    _ body: () throws -> R, sourceLocation: SourceLocation = #_sourceLocation
) -> NUMAError? {
    do {
        _ = try body()
        Issue.record("expected a NUMAError", sourceLocation: sourceLocation)
    } catch let error as NUMAError {
        return error
    } catch {
        Issue.record("expected a NUMAError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

@Suite struct NUMATopologyTests {
    @Test(
        "valid override text, in canonical form",
        arguments: [
            ("0:0-7;1:8-15", "0:0-7;1:8-15"),
            ("0:0,2,4;1:1,3,5", "0:0,2,4;1:1,3,5"),
            ("0:3", "0:3"),
            ("0:5-5", "0:5"),
            ("0:3,1,2", "0:1-3"),
            ("0:0-3,8;1:4-7,9", "0:0-3,8;1:4-7,9"),
            (" 1:4-7 ; 0 : 0 - 3 ", "0:0-3;1:4-7"),
            ("0:0;2:1", "0:0;2:1"),
        ])
    func parsesValidText(text: String, canonical: String) throws {
        let topology = try NUMATopology(parsing: text)
        #expect(topology.description == canonical)
        #expect(try NUMATopology(parsing: topology.description) == topology)
    }

    @Test func answersNodeQueries() throws {
        let topology = try NUMATopology(parsing: "0:0-7;1:8-15")
        #expect(topology.nodeIDs == [0, 1])
        #expect(topology.nodes[1].cpus == Array(8...15))
        #expect(topology.node(ofCPU: 0) == 0)
        #expect(topology.node(ofCPU: 9) == 1)
        #expect(topology.node(ofCPU: 16) == nil)
        #expect(topology.contains(node: 1) && !topology.contains(node: 2))
        let gaps = try NUMATopology(parsing: "0:0;2:1")
        #expect(gaps.nodeIDs == [0, 2])
        #expect(numaError { try gaps.validate(node: 1) } == .invalidNode(1, available: [0, 2]))
    }

    @Test(
        "invalid override text is rejected with a message that says what and where",
        arguments: [
            ("", "the text is empty"),
            ("   ", "the text is empty"),
            ("0:0-3;", "item 2 is empty (a stray ';'?)"),
            ("0:0-3;;1:4", "item 2 is empty (a stray ';'?)"),
            ("0-3", "item 1 \"0-3\": expected NODE:CPUS, with a ':'"),
            ("0:1:2", "item 1 \"0:1:2\": more than one ':' (separate nodes with ';')"),
            (":0-3", "item 1 \":0-3\": missing node id"),
            ("a:0-3", "item 1 \"a:0-3\": node id \"a\" is not a non-negative integer"),
            ("+1:0", "item 1 \"+1:0\": node id \"+1\" is not a non-negative integer"),
            ("-1:0-3", "item 1 \"-1:0-3\": node id -1 is negative"),
            ("0:-1", "item 1 \"0:-1\": CPU -1 is negative"),
            ("0:0-3;1:", "item 2 \"1:\": node 1 has no CPUs"),
            ("0:0-3;0:4-7", "item 2 \"0:4-7\": node 0 is already listed in item 1"),
            ("0:0-3;1:3-5", "item 2 \"1:3-5\": CPU 3 is already in node 0 (item 1)"),
            ("0:1,1", "item 1 \"0:1,1\": CPU 1 is listed twice in node 0"),
            ("0:0-2,2", "item 1 \"0:0-2,2\": CPU 2 is listed twice in node 0"),
            ("0:7-3", "item 1 \"0:7-3\": CPU range 7-3 is descending"),
            ("0:1,,2", "item 1 \"0:1,,2\": empty entry in the CPU list (a stray ','?)"),
            ("0:1-2-3", "item 1 \"0:1-2-3\": CPU range \"1-2-3\" is malformed (expected A-B)"),
            ("0:3-", "item 1 \"0:3-\": missing CPU"),
            ("0:x", "item 1 \"0:x\": CPU \"x\" is not a non-negative integer"),
            ("0:1 2", "item 1 \"0:1 2\": CPU \"1 2\" is not a non-negative integer"),
            ("2000:0", "item 1 \"2000:0\": node id 2000 is too large (limit 1023)"),
            (
                "0:99999999999",
                "item 1 \"0:99999999999\": CPU 99999999999 is too large (limit 65535)"
            ),
        ])
    func rejectsInvalidText(text: String, message: String) {
        let error = numaError { try NUMATopology(parsing: text) }
        #expect(error == .invalidTopology(message))
        #expect(error?.description == "invalid NUMA topology: " + message)
    }

    @Test func rejectsInconsistentNodes() {
        typealias Node = NUMATopology.Node
        #expect(numaError { try NUMATopology(nodes: []) } == .invalidTopology("no nodes"))
        #expect(
            numaError { try NUMATopology(nodes: [Node(id: 0, cpus: [0]), Node(id: 0, cpus: [1])]) }
                == .invalidTopology("node 0 is listed twice"))
        #expect(
            numaError { try NUMATopology(nodes: [Node(id: -2, cpus: [0])]) }
                == .invalidTopology("node id -2 is outside 0..<1024"))
        #expect(
            numaError { try NUMATopology(nodes: [Node(id: 0, cpus: [-1])]) }
                == .invalidTopology("node 0: CPU -1 is negative"))
        #expect(
            numaError { try NUMATopology(nodes: [Node(id: 0, cpus: [1]), Node(id: 1, cpus: [1])]) }
                == .invalidTopology("CPU 1 is listed in node 0 and in node 1"))
        // A memory-only node (no CPUs) is fine when it comes from libnuma.
        #expect((try? NUMATopology(nodes: [Node(id: 0, cpus: [0]), Node(id: 1, cpus: [])])) != nil)
    }
}

@Suite struct NUMASystemTests {
    @Test func allocationsGoToTheRequestedNode() throws {
        let system = twoNodes()
        for node in [1, 0] {
            let block = try system.allocate(byteCount: 3 * testPageSize + 1, onNode: node)
            defer { system.free(block) }
            #expect(block.byteCount == 4 * testPageSize)
            #expect(Int(bitPattern: block.base) % testPageSize == 0)
            #expect(UnsafeRawBufferPointer(block.bytes).allSatisfy { $0 == 0 })
            #expect(
                system.requests.last == .init(byteCount: 4 * testPageSize, placement: .node(node)))
            #expect(system.pageStatus(of: block) == Array(repeating: .node(node), count: 4))
        }
        #expect(system.liveBlockCount == 0)
    }

    @Test func interleavedPagesAlternateNodes() throws {
        let system = twoNodes()
        let block = try system.allocateInterleaved(byteCount: 8 * testPageSize)
        defer { system.free(block) }
        #expect(system.requests == [.init(byteCount: 8 * testPageSize, placement: .interleaved)])
        let pages = try #require(system.pageStatus(of: block))
        #expect(pages == [0, 1, 0, 1, 0, 1, 0, 1].map { PageStatus.node($0) })
        // A sub-range: the pages that overlap it, from its first byte to its last.
        let middle = UnsafeRawBufferPointer(
            rebasing: block.bytes[testPageSize + 10..<3 * testPageSize + 1])
        #expect(system.pageStatus(of: middle) == [.node(1), .node(0), .node(1)])

        let three = SimulatedNUMASystem(
            topology: try NUMATopology(parsing: "0:0;1:1;4:2"), pageSize: testPageSize)
        let spread = try three.allocateInterleaved(byteCount: 5 * testPageSize)
        defer { three.free(spread) }
        #expect(three.pageStatus(of: spread) == [0, 1, 4, 0, 1].map { PageStatus.node($0) })
    }

    @Test func invalidNodeIDsAreRejectedBeforeAllocating() throws {
        let system = twoNodes()
        for node in [2, -1, 1024] {
            #expect(
                numaError { try system.allocate(byteCount: 64, onNode: node) }
                    == .invalidNode(node, available: [0, 1]))
        }
        #expect(system.requests.isEmpty)
        #expect(
            NUMAError.invalidNode(2, available: [0, 1]).description
                == "invalid NUMA node 2: this topology has nodes 0, 1")
        #expect(
            NUMAError.invalidNode(1, available: [0]).description
                == "invalid NUMA node 1: this topology has only node 0")
        #expect(system.requests.isEmpty)
    }

    @Test func pagesOutsideLiveBlocksAreFaults() throws {
        let system = twoNodes()
        let block = try system.allocate(byteCount: testPageSize, onNode: 1)
        let bytes = block.bytes
        #expect(system.pageStatus(of: bytes) == [.node(1)])
        system.free(block)
        #expect(system.pageStatus(of: bytes) == [.failed(errno: 14)])
        #expect(system.pageStatus(of: UnsafeRawBufferPointer(start: nil, count: 0)) == [])
    }

    @Test func workersFindTheirNodeFromTheirCPU() {
        #expect(twoNodes(cpu: 3).currentNode() == 1)
        #expect(twoNodes(cpu: 1).currentNode() == 0)
        // Unknown CPU, or none: the first node.
        #expect(twoNodes(cpu: 99).currentNode() == 0)
        #expect(twoNodes(cpu: nil).currentNode() == 0)
        #expect(twoNodes().node(ofCPU: 2) == 1)
    }

    @Test func theCurrentCPUIsKnownOnLinux() {
        #if os(Linux)
            let cpu = LibC.currentCPU()
            #expect(cpu != nil)
            #expect((cpu ?? -1) < ProcessInfo.processInfo.processorCount)
        #endif
        #expect(LibC.pageSize >= 4096 && LibC.pageSize & (LibC.pageSize - 1) == 0)
    }

    @Test func fallbackIsOneNodeOfPlainAlignedMemory() throws {
        let system = FallbackNUMASystem(
            reason: "test", libnuma: .notFound(reason: "test"), cpuCount: 4)
        #expect(system.topology.description == "0:0-3")
        #expect(system.summary == "off, plain allocation on 1 node (test)")
        for placement in [NUMAPlacement.node(0), .interleaved] {
            let block = try system.allocate(byteCount: 100, placement: placement)
            defer { system.free(block) }
            #expect(Int(bitPattern: block.base) % 64 == 0)
            #expect(block.byteCount == system.pageSize)
            #expect(UnsafeRawBufferPointer(block.bytes).allSatisfy { $0 == 0 })
            #expect(system.pageStatus(of: block) == nil)
        }
        #expect(
            numaError { try system.allocate(byteCount: 64, onNode: 1) }
                == .invalidNode(1, available: [0]))
        #expect(system.currentNode() == 0)
        #expect(system.node(ofCPU: 17) == 0)
    }
}

/// Counts how often the libnuma load result is asked for.
private final class LoadCounter {
    var calls = 0
    let result: LibNUMA.LoadResult
    init(_ status: LibNUMAStatus) { result = LibNUMA.LoadResult(library: nil, status: status) }
    func load() -> LibNUMA.LoadResult {
        calls += 1
        return result
    }
}

@Suite struct NUMAConfigurationTests {
    @Test(arguments: ["off", "OFF", "0", "false", "no", "none"])
    func offSelectsTheFallbackWithoutLoadingLibnuma(value: String) throws {
        let counter = LoadCounter(.notFound(reason: "test"))
        let system = try NUMA.makeSystem(
            environment: ["BACKPROP_NUMA": value, "BACKPROP_NUMA_TOPOLOGY": "0:0;1:1"],
            library: counter.load(), cpuCount: 2)
        #expect(system is FallbackNUMASystem)
        #expect(system.kind == .fallback(reason: "disabled by BACKPROP_NUMA=\(value)"))
        #expect(system.libnuma == .notLoaded(reason: "disabled by BACKPROP_NUMA=\(value)"))
        #expect(system.topology.nodeIDs == [0])
        #expect(counter.calls == 0)
    }

    @Test func onValuesAndAnUnknownValue() throws {
        for value in ["on", "1", "true", "yes", "auto", ""] {
            #expect(try NUMA.isEnabled(by: value))
        }
        #expect(try NUMA.isEnabled(by: nil))
        let error = numaError { try NUMA.makeSystem(environment: ["BACKPROP_NUMA": "maybe"]) }
        #expect(error?.description == "invalid BACKPROP_NUMA=maybe: expected on or off")
    }

    @Test func theTopologyOverrideSimulatesNodes() throws {
        let counter = LoadCounter(.found(library: "libnuma.so.1"))
        let system = try NUMA.makeSystem(
            environment: ["BACKPROP_NUMA_TOPOLOGY": "0:0-7;1:8-15"], library: counter.load())
        let simulated = try #require(system as? SimulatedNUMASystem)
        #expect(simulated.topology.description == "0:0-7;1:8-15")
        #expect(simulated.kind == .simulated(source: "BACKPROP_NUMA_TOPOLOGY=0:0-7;1:8-15"))
        #expect(simulated.libnuma == .found(library: "libnuma.so.1"))
        #expect(simulated.summary == "simulated 2 nodes (BACKPROP_NUMA_TOPOLOGY=0:0-7;1:8-15)")

        let error = numaError {
            try NUMA.makeSystem(
                environment: ["BACKPROP_NUMA_TOPOLOGY": "0:0-7;0:8-15"], library: counter.load())
        }
        #expect(error == .invalidTopology("item 2 \"0:8-15\": node 0 is already listed in item 1"))
        // An empty override is no override.
        let plain = try NUMA.makeSystem(
            environment: ["BACKPROP_NUMA_TOPOLOGY": ""],
            library: LoadCounter(.notFound(reason: "test")).load(), cpuCount: 1)
        #expect(plain is FallbackNUMASystem)
    }

    @Test func withoutLibnumaTheFallbackSaysWhy() throws {
        let cases: [(LibNUMAStatus, String)] = [
            (.notFound(reason: "libnuma.so.1 cannot be opened"), "libnuma not found"),
            (.noNUMASupport(library: "libnuma.so.1"), "numa_available() < 0"),
            (
                .notLoaded(reason: "not available on this platform"),
                "not available on this platform"
            ),
        ]
        for (status, reason) in cases {
            let system = try NUMA.makeSystem(
                environment: [:], library: LoadCounter(status).load(), cpuCount: 2)
            #expect(system.kind == .fallback(reason: reason))
            #expect(system.libnuma == status)
            #expect(!system.libnuma.isFound)
        }
    }

    @Test func aMissingLibraryIsNotFound() {
        let result = LibNUMA.load(names: ["libbackprop-no-such-numa.so.9"])
        #expect(result.library == nil)
        #if os(Linux)
            #expect(
                result.status == .notFound(reason: "libbackprop-no-such-numa.so.9 cannot be opened")
            )
        #endif
    }
}

@Suite struct PlacementReportTests {
    @Test func theReportShowsTopologyLibnumaAndBytesPerNode() throws {
        let system = twoNodes()
        var record = PlacementRecord()
        #expect(
            PlacementReport(system: system, record: record).description == """
                NUMA: simulated 2 nodes (test)
                  libnuma: not loaded (simulated topology)
                  node 0: CPUs 0-1
                  node 1: CPUs 2-3
                placement: nothing placed
                """)
        record.add(1024, role: .value, at: .node(0))
        record.add(4096, role: .partial, at: .node(0))
        record.add(3 << 19, role: .gradient, at: .node(1))
        record.add(8192, role: .parameter, at: .interleaved)
        #expect(
            PlacementReport(system: system, record: record).description == """
                NUMA: simulated 2 nodes (test)
                  libnuma: not loaded (simulated topology)
                  node 0: CPUs 0-1
                  node 1: CPUs 2-3
                placement:
                  node 0: values 1 KiB, partials 4 KiB
                  node 1: gradients 1.5 MiB
                  interleaved: parameters 8 KiB
                """)
        #expect(
            [0, 512, 1024, 1536, 1 << 20, 5 * (1 << 30) / 3].map(PlacementReport.format(bytes:))
                == ["0 B", "512 B", "1 KiB", "1.5 KiB", "1 MiB", "1.7 GiB"])
    }
}

/// Whether a libnuma shared library is installed where distributions put it.
private let libnumaFileExists: Bool = [
    "/usr/lib/x86_64-linux-gnu/libnuma.so.1", "/lib/x86_64-linux-gnu/libnuma.so.1",
    "/usr/lib/aarch64-linux-gnu/libnuma.so.1", "/lib/aarch64-linux-gnu/libnuma.so.1",
    "/usr/lib64/libnuma.so.1", "/lib64/libnuma.so.1", "/usr/lib/libnuma.so.1",
].contains { FileManager.default.fileExists(atPath: $0) }

@Suite struct NUMALibnumaTests {
    @Test(.enabled(if: libnumaFileExists, "libnuma.so.1 is not installed"))
    func libnumaLoadsWhereItIsInstalled() throws {
        switch LibNUMA.loaded.status {
        case .found, .noNUMASupport: break
        case .notFound, .notLoaded: Issue.record("libnuma: \(LibNUMA.loaded.status)")
        }
    }

    @Test(.enabled(if: LibNUMA.loaded.library != nil, "libnuma not usable here"))
    func topologyComesFromLibnuma() throws {
        let library = try #require(LibNUMA.loaded.library)
        let topology = library.topology
        #expect(!topology.nodes.isEmpty)
        #expect(topology.nodes.allSatisfy { ($0.memoryBytes ?? 0) > 0 || $0.cpus.isEmpty })
        if let cpu = LibC.currentCPU() { #expect(topology.node(ofCPU: cpu) != nil) }
        let system = try NUMA.makeSystem(environment: [:])
        #expect(system is LibNUMASystem)
        #expect(system.libnuma.isFound)
        let highest = topology.nodeIDs.last!
        #expect(
            numaError { try system.allocate(byteCount: 4096, onNode: highest + 1) }
                == .invalidNode(highest + 1, available: topology.nodeIDs))
    }

    @Test(.enabled(if: LibNUMA.loaded.library != nil, "libnuma not usable here"))
    func pagesPlacedOnANodeAreReportedThereAndQueriesDoNotFaultPagesIn() throws {
        let system = LibNUMASystem(library: try #require(LibNUMA.loaded.library))
        let node = system.topology.nodes[0].id
        let pageSize = system.pageSize
        let block = try system.allocate(byteCount: 16 * pageSize, onNode: node)
        defer { system.free(block) }
        #expect(block.byteCount == 16 * pageSize)
        #expect(Int(bitPattern: block.base) % pageSize == 0)

        // Untouched: no page is present, and asking (twice) does not fault any in.
        let untouched = [PageStatus](repeating: .notPresent, count: 16)
        #expect(system.pageStatus(of: block) == untouched)
        #expect(system.pageStatus(of: block) == untouched)

        // One page touched: only that page is present.
        block.base.storeBytes(of: 1, toByteOffset: 5 * pageSize, as: UInt8.self)
        var expected = untouched
        expected[5] = .node(node)
        #expect(system.pageStatus(of: block) == expected)

        // All touched: all on the node.
        for page in 0..<16 {
            block.base.storeBytes(of: UInt8(page), toByteOffset: page * pageSize, as: UInt8.self)
        }
        #expect(system.pageStatus(of: block) == [PageStatus](repeating: .node(node), count: 16))
    }
}
