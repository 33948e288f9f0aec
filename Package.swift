// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Backprop",
    products: [
        .library(name: "Backprop", targets: ["Backprop"]),
        .library(name: "BackpropWorkloads", targets: ["BackpropWorkloads"]),
        .executable(name: "lecture", targets: ["Lecture"]),
        .executable(name: "backprop", targets: ["BackpropCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // The innermost ISA-specific loops, in C with clang target
        // attributes (no build flags): chosen at run time (docs/architecture.md).
        .target(name: "CKernels"),
        .target(name: "Backprop", dependencies: ["CKernels"]),
        // The benchmark workloads (S1–S4, scheduler shapes), shared by the
        // benchmarks and the CLI.
        .target(name: "BackpropWorkloads", dependencies: ["Backprop"]),
        // Random graphs and the checks of `backprop stress`.
        .target(name: "BackpropStress", dependencies: ["Backprop"]),
        .executableTarget(name: "Lecture", dependencies: ["Backprop"]),
        // The `backprop` command-line tool (docs/cli.md).
        .executableTarget(
            name: "BackpropCLI",
            dependencies: [
                "Backprop", "BackpropWorkloads", "BackpropStress",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Counts the test thread's heap allocations (glibc); test-only.
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        .testTarget(
            name: "BackpropTests",
            dependencies: ["Backprop", "BackpropWorkloads", "BackpropStress", "AllocationCounter"]),
        // Runs the built `backprop` executable; the dependency makes `swift test` build it.
        // Corpus/ holds malformed graph files, read through #filePath.
        .testTarget(
            name: "BackpropCLITests", dependencies: ["BackpropCLI"], exclude: ["Corpus"]),
    ],
    swiftLanguageModes: [.v6]
)
