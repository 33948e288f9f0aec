import Backprop
import Foundation

/// A labelled data set for classification: rows of features and one
/// class index per row (stored as a `Double`, as the graphs take labels).
public struct ClassificationData: Sendable {
    /// Rows, row-major, `samples × features`.
    public let x: [Double]
    /// Class indices `0..<classes`, one per row.
    public let labels: [Double]
    /// The number of rows.
    public let samples: Int
    /// Features per row.
    public let features: Int
    /// The number of classes.
    public let classes: Int
}

extension Workloads {
    /// Interleaved spirals in the plane: `classes` arms, `samplesPerClass`
    /// points each, in shuffled order, from the workloads' generator.
    ///
    /// Point i of arm c lies at radius `r = 0.1 + 0.9 · i / samplesPerClass`
    /// and angle `2πc / classes + 4r + noise · (2u − 1)` (u = `unit()`): each
    /// arm winds a little over half a turn, and with the default noise the
    /// arms stay apart, so the set is separable — by curved boundaries, not
    /// straight ones. The rows are then shuffled (Fisher–Yates, with
    /// `advance() % (i + 1)` from the same generator), so minibatches taken
    /// in order mix the classes.
    public static func spirals(
        classes: Int = 3, samplesPerClass: Int = 512, noise: Double = 0.05, seed: UInt64 = 1
    ) -> ClassificationData {
        precondition(classes >= 2 && samplesPerClass >= 1)
        var g = WorkloadGenerator(seed: seed)
        let n = classes * samplesPerClass
        var points: [(Double, Double, Double)] = []
        points.reserveCapacity(n)
        for c in 0..<classes {
            for i in 0..<samplesPerClass {
                let r = 0.1 + 0.9 * Double(i) / Double(samplesPerClass)
                let angle =
                    2 * Double.pi * Double(c) / Double(classes) + 4 * r + noise * (2 * g.unit() - 1)
                points.append((r * Foundation.cos(angle), r * Foundation.sin(angle), Double(c)))
            }
        }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(g.advance() % UInt64(i + 1))
            points.swapAt(i, j)
        }
        return ClassificationData(
            x: points.flatMap { [$0.0, $0.1] }, labels: points.map(\.2), samples: n, features: 2,
            classes: classes)
    }
}
