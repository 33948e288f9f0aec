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
        .testTarget(name: "BackpropTests", dependencies: ["Backprop"]),
    ],
    swiftLanguageModes: [.v6]
)
