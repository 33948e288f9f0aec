import Foundation
import Testing

/// docs/architecture.md's file map and the source tree agree: every file of
/// `Sources/Backprop/` is listed, and every listed path exists. A file added,
/// moved or removed without the map fails here.
@Suite struct ArchitectureDocTests {
    /// The repository root, from this file's path (Tests/BackpropTests/…).
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The paths in the file map: the first word of each line of the code
    /// block under "## File map".
    func mappedPaths() throws -> [String] {
        let text = try String(
            contentsOf: root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        let section = try #require(text.range(of: "## File map")).upperBound
        let lines = text[section...].split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix("```") })
        let end = try #require(lines[(start + 1)...].firstIndex { $0.hasPrefix("```") })
        return lines[(start + 1)..<end].compactMap {
            $0.split(separator: " ").first.map(String.init)
        }
    }

    /// The Swift files under `Sources/Backprop/`, relative to the root.
    func libraryFiles() throws -> Set<String> {
        let base = root.appendingPathComponent("Sources/Backprop")
        let walker = try #require(FileManager.default.enumerator(atPath: base.path))
        var files = Set<String>()
        while let path = walker.nextObject() as? String {
            if path.hasSuffix(".swift") { files.insert("Sources/Backprop/" + path) }
        }
        return files
    }

    @Test func everyLibraryFileIsMappedAndEveryMappedPathExists() throws {
        let mapped = try mappedPaths()
        #expect(mapped.count > 50)
        #expect(Set(mapped).count == mapped.count, "a path is listed twice")
        let files = try libraryFiles()
        #expect(files.count > 50)
        let unmapped = files.subtracting(mapped).sorted()
        #expect(unmapped.isEmpty, "not in docs/architecture.md's file map: \(unmapped)")
        for path in mapped {
            #expect(
                FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path),
                "docs/architecture.md maps \(path), which does not exist")
        }
    }

    @Test func theLayersTableNamesEveryFolderInProcessingOrder() throws {
        let text = try String(
            contentsOf: root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        // Folders with files (git keeps no empty ones).
        let folders = Set(
            try libraryFiles().map { $0.split(separator: "/") }.filter { $0.count > 3 }.map {
                String($0[2])
            })
        let order = [
            "Tensor", "Graph", "Ops", "Reference", "Plan", "Execution", "Scheduler", "Memory",
            "NUMA", "Kernels", "Platform", "Training", "Formats",
        ]
        #expect(folders == Set(order), "folders: \(folders.sorted())")
        let positions = try order.map { folder in
            try #require(text.range(of: "| `\(folder)/` |")).lowerBound
        }
        #expect(positions == positions.sorted(), "the layers table is out of processing order")
    }
}
