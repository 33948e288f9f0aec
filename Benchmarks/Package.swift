// swift-tools-version:6.1
// The benchmarks, as their own package so that their dependencies never
// slow down the library's build. Run from this folder:
//   swift run -c release runtime-benchmarks [--quick]
//   swift package --disable-sandbox benchmark                   (ordo-one/benchmark)
//   swift package --disable-sandbox benchmark thresholds check  (fails if re-execution allocates)
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which depends on where
// the repository was cloned: read it instead of assuming it.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "BackpropBenchmarks",
    dependencies: [
        .package(path: ".."),
        .package(
            url: "https://github.com/ordo-one/benchmark", exact: "1.38.1",
            traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "runtime-benchmarks",
            dependencies: [
                .product(name: "Backprop", package: root),
                .product(name: "BackpropWorkloads", package: root),
            ],
            path: "Sources/RuntimeBenchmarks"),
        // Wall clock, throughput and malloc counts per workload (ordo-one/benchmark;
        // its plugin finds benchmark targets in a folder named Benchmarks).
        .executableTarget(
            name: "WorkloadBenchmarks",
            dependencies: [
                .product(name: "Backprop", package: root),
                .product(name: "BackpropWorkloads", package: root),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/WorkloadBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ],
    swiftLanguageModes: [.v6]
)
