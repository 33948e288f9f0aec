import Foundation
import Testing

/// Runs the built `backprop` executable as a child process.
///
/// The binary is found next to the test runner in the build products
/// directory (`.build/<triple>/debug/backprop` beside
/// `BackpropPackageTests.xctest`): the test target depends on the
/// `BackpropCLI` target, so `swift test` builds the executable first.
/// `BACKPROP_CLI_EXECUTABLE` overrides the location.
enum CLI {
    /// The outcome of one run.
    struct Result: CustomStringConvertible {
        /// The exit status, or the signal that ended the process.
        let status: Int32
        /// Whether a signal ended the process (a trap, a crash).
        let crashed: Bool
        let stdout: String
        let stderr: String

        /// The standard error's lines, without the final newline.
        var stderrLines: [Substring] {
            stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        }

        var description: String {
            "status \(status)\(crashed ? " (signal)" : "")\nstdout:\n\(stdout)\nstderr:\n\(stderr)"
        }
    }

    /// Why the executable could not be run.
    struct NotFound: Error, CustomStringConvertible {
        let searched: [String]
        var description: String {
            "no 'backprop' executable in " + searched.joined(separator: ", ")
                + " (build it with 'swift build', or set BACKPROP_CLI_EXECUTABLE)"
        }
    }

    /// The directories the executable is looked for in, most likely first.
    static var searchDirectories: [URL] {
        var directories: [URL] = []
        // Linux: the test runner is the .xctest executable in the products directory.
        directories.append(
            URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
                .deletingLastPathComponent())
        if let path = Bundle.main.executablePath {
            directories.append(
                URL(fileURLWithPath: path).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        // macOS: the .xctest bundle sits in the products directory.
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        return directories
    }

    /// The `backprop` executable.
    static func executable() throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["BACKPROP_CLI_EXECUTABLE"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let directories = searchDirectories
        for directory in directories {
            let candidate = directory.appendingPathComponent("backprop")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw NotFound(searched: directories.map(\.path))
    }

    /// Runs `backprop arguments…` and waits for it.
    ///
    /// The child gets this process's environment without any `BACKPROP_*`
    /// variable (CI runs the suites under several), plus `environment`. Its
    /// standard input is `stdin`, or empty when that is `nil`.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        // The child sees none of the developer's Backprop or OpenBLAS
        // thread settings, only the test's.
        var childEnvironment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("BACKPROP_") && $0.key != "OPENBLAS_NUM_THREADS"
        }
        childEnvironment.merge(environment) { $1 }
        process.environment = childEnvironment

        // Files rather than pipes: nothing can block on a full pipe.
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("backprop-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        let inURL = directory.appendingPathComponent("stdin")
        guard
            FileManager.default.createFile(atPath: outURL.path, contents: nil),
            FileManager.default.createFile(atPath: errURL.path, contents: nil),
            FileManager.default.createFile(atPath: inURL.path, contents: Data((stdin ?? "").utf8))
        else { throw CocoaError(.fileWriteUnknown) }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let input = try FileHandle(forReadingFrom: inURL)
        defer {
            try? out.close()
            try? err.close()
            try? input.close()
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            crashed: process.terminationReason == .uncaughtSignal,
            stdout: try String(contentsOf: outURL, encoding: .utf8),
            stderr: try String(contentsOf: errURL, encoding: .utf8))
    }

    /// Runs `backprop arguments…` (see ``run(_:environment:stdin:)``).
    static func run(
        _ arguments: String..., environment: [String: String] = [:], stdin: String? = nil
    ) throws -> Result {
        try run(arguments, environment: environment, stdin: stdin)
    }
}

extension CLI {
    /// The absolute path of `relative`, a path from the repository's root
    /// (found from this file's location, so no resources are needed).
    static func repositoryPath(_ relative: String, filePath: String = #filePath) -> String {
        URL(fileURLWithPath: filePath)
            .deletingLastPathComponent()  // BackpropCLITests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // the repository
            .appendingPathComponent(relative).path
    }

    /// A new empty directory for one test's files, removed by `body`'s end.
    static func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("backprop-cli-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }
}

extension CLI.Result {
    /// Checks the form of every error: status `status`, nothing on
    /// standard output, exactly one line on standard error, starting with
    /// `error: `.
    func expectError(
        status expected: Int32 = 2, _ sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(status == expected, "\(self)", sourceLocation: sourceLocation)
        #expect(!crashed, sourceLocation: sourceLocation)
        #expect(stdout == "", "\(self)", sourceLocation: sourceLocation)
        #expect(stderrLines.count == 1, "\(self)", sourceLocation: sourceLocation)
        #expect(stderr.hasPrefix("error: "), "\(self)", sourceLocation: sourceLocation)
    }
}
