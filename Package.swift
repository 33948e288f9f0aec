// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Backprop",
    products: [
        .library(name: "Backprop", targets: ["Backprop"]),
        .library(name: "BackpropWorkloads", targets: ["BackpropWorkloads"]),
        .executable(name: "lecture", targets: ["Lecture"]),
    ],
    targets: [
        .target(name: "Backprop"),
        // The benchmark workloads (S1–S4, scheduler shapes), shared by the
        // benchmarks and the CLI.
        .target(name: "BackpropWorkloads", dependencies: ["Backprop"]),
        // Random graphs and the checks of `backprop stress`.
        .target(name: "BackpropStress", dependencies: ["Backprop"]),
        .executableTarget(name: "Lecture", dependencies: ["Backprop"]),
        // Counts the test thread's heap allocations (glibc); test-only.
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        .testTarget(name: "BackpropTests", dependencies: ["Backprop", "BackpropWorkloads", "BackpropStress", "AllocationCounter"]),
    ],
    swiftLanguageModes: [.v6]
)
