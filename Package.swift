// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Backprop",
    products: [
        .library(name: "Backprop", targets: ["Backprop"]),
        .executable(name: "lecture", targets: ["Lecture"]),
    ],
    targets: [
        .target(name: "Backprop"),
        .executableTarget(name: "Lecture", dependencies: ["Backprop"]),
        // Counts the test thread's heap allocations (glibc); test-only.
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        .testTarget(name: "BackpropTests", dependencies: ["Backprop", "AllocationCounter"]),
    ],
    swiftLanguageModes: [.v6]
)
