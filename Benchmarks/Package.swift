// swift-tools-version:6.0
// The benchmarks, as their own package so that their dependencies never
// slow down the library's build. Run from this folder:
//   swift run -c release runtime-benchmarks [--quick]
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which depends on where
// the repository was cloned: read it instead of assuming it.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "BackpropBenchmarks",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "runtime-benchmarks",
            dependencies: [
                .product(name: "Backprop", package: root),
                .product(name: "BackpropWorkloads", package: root),
            ],
            path: "Sources/RuntimeBenchmarks")
    ],
    swiftLanguageModes: [.v6]
)
