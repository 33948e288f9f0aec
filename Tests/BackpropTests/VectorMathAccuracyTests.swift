import Foundation
import Testing

@testable import Backprop

/// The vectorised math (`VectorMath`, `Sources/CKernels/VectorMathBody.h`)
/// against correctly rounded references, on every instruction set this CPU
/// supports: the published ulp bounds, IEEE special values, agreement
/// between paths, and results independent of how an array is split.
///
/// The references are made by `Scripts/vector-math-reference.py` (mpmath,
/// 256 bits): the random inputs come from `WorkloadGenerator` streams both
/// sides draw alike (`inputs`), the results are stored as the low 16 bits
/// of each correctly rounded value (`Tests/VectorMathReference/`), and edge
/// inputs with full bit patterns. `VECTOR_MATH_REFERENCE=<folder>` points
/// the suite at another set (the 10^5-point measurement of `docs/ops.md`);
/// it prints the maximum ulp error per function, type and path.
@Suite struct VectorMathAccuracyTests {
    static let functions: [(name: String, f: UnaryFunction)] = [
        ("exp", .exp), ("log", .log), ("tanh", .tanh), ("sigmoid", .sigmoid), ("sin", .sin),
        ("cos", .cos),
    ]

    static let folder: URL = {
        if let path = ProcessInfo.processInfo.environment["VECTOR_MATH_REFERENCE"] {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("VectorMathReference")
    }()

    /// The low 16 bits of the correctly rounded results, per function and
    /// type in the script's order, and the number of points per pair.
    static let lowBits: (values: [UInt16], count: Int) = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("vector-math-reference.bin"))
        let values = data.withUnsafeBytes { raw in
            (0..<data.count / 2).map {
                UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))
            }
        }
        return (values, values.count / (functions.count * 2))
    }()

    /// The script's inputs for function index `fi`: point i uses range i % 3.
    static func inputs<T: ReferenceElement>(_ fi: Int, _: T.Type, count: Int) -> [T] {
        let single = T.self == Float.self
        var g = WorkloadGenerator(seed: 0x5EED_0000 + 16 * UInt64(fi) + (single ? 0 : 1))
        return (0..<count).map { i -> T in
            let mode = i % 3
            // The uniform ranges (lo, hi) of the three modes; log's second
            // mode is m·2^k instead.
            let ranges: [(Double, Double)]
            switch functions[fi].name {
            case "exp":
                ranges = [(-10, 10), single ? (-103.9, 88.7) : (-745.0, 709.7), (-0.5, 0.5)]
            case "log":
                if mode == 1 {
                    let m = g.uniform(1, 2)
                    let k = single ? g.int(277) - 149 : g.int(2098) - 1074
                    return T(m * Double(sign: .plus, exponent: k, significand: 1))
                }
                ranges = [(0.5, 2), (0, 0), (0, 10)]
            case "tanh":
                ranges = [(-1, 1), single ? (-20, 20) : (-40, 40), (-3, 3)]
            case "sigmoid":
                ranges = [(-20, 20), single ? (-104, 104) : (-745, 745), (-3, 3)]
            default:
                ranges = [(-10, 10), (-1e4, 1e4), (-0x1p20, 0x1p20)]
            }
            let x = g.uniform(ranges[mode].0, ranges[mode].1)
            return T(x)
        }
    }

    /// Inputs and correctly rounded results for function index `fi`: each
    /// result is the value with the stored low bits nearest to libm's.
    static func reference<T: ReferenceElement>(_ fi: Int, _: T.Type) -> (x: [T], y: [T]) {
        let (values, count) = lowBits
        let offset = (2 * fi + (T.self == Float.self ? 0 : 1)) * count
        let x = inputs(fi, T.self, count: count)
        let f = functions[fi].f
        let y = x.enumerated().map { k, xk -> T in
            let approx = f.apply(xk).bits
            var candidate = (approx & ~0xFFFF) | UInt64(values[offset + k])
            if candidate > approx && candidate - approx > 0x8000 { candidate &-= 0x10000 }
            if candidate < approx && approx - candidate > 0x8000 { candidate &+= 0x10000 }
            return T(bits: candidate)
        }
        return (x, y)
    }

    /// The edge inputs and their correctly rounded results for `name`.
    static func edges<T: ReferenceElement>(_ name: String, _: T.Type) -> [(x: T, y: T)] {
        let text = try! String(
            contentsOf: folder.appendingPathComponent("vector-math-edges.txt"), encoding: .utf8)
        let dtype = T.self == Float.self ? "float32" : "float64"
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 4, f[0] == name, f[1] == dtype else { return nil }
            return (T(bits: UInt64(f[2], radix: 16)!), T(bits: UInt64(f[3], radix: 16)!))
        }
    }

    /// `f` over `x` on the path of `isa`.
    static func run<T: ReferenceElement>(_ f: UnaryFunction, _ x: [T], _ isa: InstructionSet)
        -> [T]
    {
        var y = [T](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                #expect(
                    VectorMath.apply(
                        f, x: xs.baseAddress!, y: ys.baseAddress!, count: x.count, isa: isa))
            }
        }
        return y
    }

    static let dtypes: [any ReferenceElement.Type] = [Float.self, Double.self]

    @Test(arguments: 0..<6, [false, true])
    func randomPointsWithinTheBoundOnEveryPath(fi: Int, double: Bool) {
        if double { check(fi, Double.self) } else { check(fi, Float.self) }
    }

    func check<T: ReferenceElement>(_ fi: Int, _: T.Type) {
        let (name, f) = Self.functions[fi]
        let (x, reference) = Self.reference(fi, T.self)
        let bound = VectorMath.maxUlpError(f, T.self)!
        // libm is within a few ulps of every reference: the inputs are in
        // step with the file's.
        let libmApart = x.indices.map { ulpDistance(f.apply(x[$0]), reference[$0]) }.max() ?? 0
        #expect(libmApart <= 8, "\(name) \(T.dtype): libm \(libmApart) ulp from the reference")
        #expect(
            x.count >= 10_000 || ProcessInfo.processInfo.environment["VECTOR_MATH_REFERENCE"] != nil
        )
        var line = "vector math \(name) \(T.dtype) (\(x.count) points): max ulp"
        for isa in InstructionSet.supported {
            let y = Self.run(f, x, isa)
            let (worst, worstX) = largestUlpDistance(y, reference, at: x)
            line += " \(isa) \(worst) (x = \(worstX))"
            #expect(
                Double(worst) <= bound, "\(name) \(T.dtype) \(isa): \(worst) ulp at x = \(worstX)")
            // The paths agree with one another within the bound.
            let base = Self.run(f, x, .baseline)
            let apart = x.indices.map { ulpDistance(y[$0], base[$0]) }.max() ?? 0
            #expect(
                Double(apart) <= bound, "\(name) \(T.dtype): \(isa) and baseline \(apart) ulp apart"
            )
        }
        print(line)
    }

    @Test(arguments: 0..<6, [false, true])
    func edgeValuesOnEveryPath(fi: Int, double: Bool) {
        if double { checkEdges(fi, Double.self) } else { checkEdges(fi, Float.self) }
    }

    func checkEdges<T: ReferenceElement>(_ fi: Int, _: T.Type) {
        let (name, f) = Self.functions[fi]
        let edges = Self.edges(name, T.self)
        #expect(edges.count > 20)
        let bound = VectorMath.maxUlpError(f, T.self)!
        for isa in InstructionSet.supported {
            let y = Self.run(f, edges.map(\.x), isa)
            for (k, edge) in edges.enumerated() {
                if edge.y.isNaN {
                    #expect(y[k].isNaN, "\(name) \(T.dtype) \(isa) (\(edge.x)) = \(y[k]), not NaN")
                } else if edge.y.isInfinite || edge.y == 0 {
                    #expect(
                        y[k] == edge.y,
                        "\(name) \(T.dtype) \(isa) (\(edge.x)) = \(y[k]), not \(edge.y)")
                } else {
                    #expect(
                        Double(ulpDistance(y[k], edge.y)) <= bound,
                        "\(name) \(T.dtype) \(isa) (\(edge.x)) = \(y[k]), not \(edge.y)")
                }
            }
        }
    }

    @Test(arguments: [false, true])
    func specialValuesAsLibm(double: Bool) {
        if double { checkSpecials(Double.self) } else { checkSpecials(Float.self) }
    }

    func checkSpecials<T: ReferenceElement>(_: T.Type) {
        let inf = T.infinity
        let huge: [T] = [
            T.greatestFiniteMagnitude, -T.greatestFiniteMagnitude, T(1e30), T(-1e30), T(0x1p20) + 1,
        ]
        for isa in InstructionSet.supported {
            #expect(Self.run(.exp, [-inf, inf, T(1000)], isa) == [0, inf, inf])
            #expect(Self.run(.exp, [T.nan], isa)[0].isNaN)
            let log = Self.run(.log, [0, -0.0, inf, -1, T.nan, 1], isa)
            #expect(log[0] == -inf && log[1] == -inf && log[2] == inf && log[5] == 0)
            #expect(log[3].isNaN && log[4].isNaN)
            #expect(Self.run(.tanh, [T(50), T(-50), inf, -inf], isa) == [1, -1, 1, -1])
            let sigmoid = Self.run(.sigmoid, [T(-1000), T(1000), -inf, inf, 0] + huge, isa)
            #expect(sigmoid.allSatisfy { $0 >= 0 && $0 <= 1 })
            #expect(Array(sigmoid[0..<5]) == [0, 1, 0, 1, 0.5])
            for f in [UnaryFunction.sin, .cos] {
                let y = Self.run(f, huge, isa)
                #expect(y.allSatisfy { $0.isFinite && $0 >= -1 && $0 <= 1 }, "\(f) \(isa): \(y)")
                #expect(Self.run(f, [inf, -inf, T.nan], isa).allSatisfy { $0.isNaN })
            }
        }
    }

    @Test(arguments: 0..<6, [false, true])
    func resultsDoNotDependOnTheSplit(fi: Int, double: Bool) {
        if double { checkSplits(fi, Double.self) } else { checkSplits(fi, Float.self) }
    }

    /// `f` over `x` on `isa`, called on consecutive pieces of `chunk` elements.
    static func runInChunks<T: ReferenceElement>(
        _ f: UnaryFunction, _ x: [T], _ isa: InstructionSet, chunk: Int
    ) -> [T] {
        var y = [T](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                var start = 0
                while start < x.count {
                    let n = min(chunk, x.count - start)
                    _ = VectorMath.apply(
                        f, x: xs.baseAddress! + start, y: ys.baseAddress! + start, count: n,
                        isa: isa)
                    start += n
                }
            }
        }
        return y
    }

    /// Expects `f` over `x` on `isa` to give the whole array's bits when
    /// called on pieces of 1, 7, 16 and 33 elements; returns the whole
    /// array's result.
    @discardableResult
    static func expectChunksAgree<T: ReferenceElement>(
        _ f: UnaryFunction, _ x: [T], _ isa: InstructionSet, _ label: String
    ) -> [T] {
        let whole = run(f, x, isa)
        for chunk in [1, 7, 16, 33] {
            let y = runInChunks(f, x, isa, chunk: chunk)
            #expect(
                zip(whole, y).allSatisfy { $0.bits == $1.bits },
                "\(label): chunks of \(chunk) differ")
        }
        return whole
    }

    func checkSplits<T: ReferenceElement>(_ fi: Int, _: T.Type) {
        let f = Self.functions[fi].f
        // Random points and the edges, at every offset modulo the widths.
        let x =
            Array(Self.inputs(fi, T.self, count: 999))
            + Self.edges(Self.functions[fi].name, T.self).map(\.x)
        for isa in InstructionSet.supported {
            let whole = Self.expectChunksAgree(f, x, isa, "\(f) \(T.dtype) \(isa)")
            // In place (x and y the same array) gives the same bits.
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { b in
                _ = VectorMath.apply(
                    f, x: b.baseAddress!, y: b.baseAddress!, count: b.count, isa: isa)
            }
            #expect(
                zip(whole, inPlace).allSatisfy { $0.bits == $1.bits },
                "\(f) \(T.dtype) \(isa) in place")
        }
    }
}

/// Float and Double as bit patterns, for the ulp measurements.
protocol ReferenceElement: TensorElement {
    var bits: UInt64 { get }
    init(bits: UInt64)
}

extension Float: ReferenceElement {
    var bits: UInt64 { UInt64(bitPattern) }
    init(bits: UInt64) { self.init(bitPattern: UInt32(truncatingIfNeeded: bits)) }
}

extension Double: ReferenceElement {
    var bits: UInt64 { bitPattern }
    init(bits: UInt64) { self.init(bitPattern: bits) }
}

/// The largest ulp distance between `y` and `reference`, and the input
/// `x` where it occurs (the first such; 0 and x's zero when all agree).
func largestUlpDistance<T: ReferenceElement>(_ y: [T], _ reference: [T], at x: [T]) -> (Int, T) {
    var worst = 0
    var worstX = T.zero
    for k in x.indices {
        let d = ulpDistance(y[k], reference[k])
        if d > worst { (worst, worstX) = (d, x[k]) }
    }
    return (worst, worstX)
}

/// The number of representable values between a and b (0 for +0 and −0);
/// NaN against NaN is 0, NaN against a number `Int.max`.
func ulpDistance<T: ReferenceElement>(_ a: T, _ b: T) -> Int {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : Int.max }
    let signBit: UInt64 = T.self == Float.self ? 1 << 31 : 1 << 63
    func ordered(_ v: T) -> Int64 {
        let magnitude = Int64(v.bits & (signBit - 1))
        return v.bits & signBit != 0 ? -magnitude : magnitude
    }
    let d = ordered(a) - ordered(b)
    return Int(d.magnitude)
}

/// `pow` with a constant exponent p (rounded to Float for `Float`, as
/// `power` does) on every path: against correctly rounded references
/// (`Tests/VectorMathReference/vector-math-pow.bin`, mpmath at 256 bits,
/// written by `Scripts/vector-math-reference.py` for the inputs of
/// `inputs`), against libm's double `pow` rounded to `Float` on more points
/// (29 bits more precise: the correctly rounded value but in rare
/// double-rounding cases), IEEE pow's special values, and results
/// independent of the split.
@Suite struct VectorMathPowTests {
    static let exponents: [Double] = [0.5, 3, -1.5, 2.5, -3, 1.0 / 3, 7, 0.1, -0.5, 1.5]

    /// The script's inputs for exponent index `pi`: point i uses mode i % 4.
    static func inputs<T: ReferenceElement>(_ pi: Int, _: T.Type, count: Int) -> [T] {
        var g = WorkloadGenerator(
            seed: 0x5EED_0200 + 16 * UInt64(pi) + (T.self == Float.self ? 0 : 1))
        return (0..<count).map { i -> T in
            switch i % 4 {
            case 0: T(g.uniform(0, 10))
            case 1: T(g.uniform(-10, 10))
            case 2:
                T(g.uniform(1, 2) * Double(sign: .plus, exponent: g.int(60) - 30, significand: 1))
            default: T(g.uniform(1 - 1.0 / 64, 1 + 1.0 / 64))
            }
        }
    }

    /// Inputs and correctly rounded results (NaN where libm gives NaN) for
    /// exponent index `pi`: each result is the value with the stored low
    /// bits nearest to libm's.
    static func reference<T: ReferenceElement>(_ pi: Int, _: T.Type) -> (x: [T], y: [T]) {
        let data = try! Data(
            contentsOf: VectorMathAccuracyTests.folder.appendingPathComponent("vector-math-pow.bin")
        )
        let values = data.withUnsafeBytes { raw in
            (0..<data.count / 2).map {
                UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))
            }
        }
        let count = values.count / (2 * exponents.count)
        let offset = ((T.self == Float.self ? 0 : exponents.count) + pi) * count
        let x = inputs(pi, T.self, count: count)
        let f = UnaryFunction.pow(exponents[pi])
        let y = x.enumerated().map { k, xk -> T in
            let approx = f.apply(xk)
            if approx.isNaN { return approx }
            var candidate = (approx.bits & ~0xFFFF) | UInt64(values[offset + k])
            if candidate > approx.bits && candidate - approx.bits > 0x8000 { candidate &-= 0x10000 }
            if candidate < approx.bits && approx.bits - candidate > 0x8000 { candidate &+= 0x10000 }
            return T(bits: candidate)
        }
        return (x, y)
    }

    @Test(arguments: 0..<10, [false, true])
    func withinTheBoundOfTheCorrectlyRoundedOnEveryPath(pi: Int, double: Bool) {
        if double { check(pi, Double.self) } else { check(pi, Float.self) }
    }

    func check<T: ReferenceElement>(_ pi: Int, _: T.Type) {
        let p = Self.exponents[pi]
        let f = UnaryFunction.pow(p)
        let bound = VectorMath.maxUlpError(f, T.self)!
        let (x, reference) = Self.reference(pi, T.self)
        #expect(x.count * Self.exponents.count >= 10_000)
        let libmApart = x.indices.map { ulpDistance(f.apply(x[$0]), reference[$0]) }.max() ?? 0
        #expect(libmApart <= 2, "pow(x, \(p)) \(T.dtype): libm \(libmApart) ulp from the reference")
        var line = "vector math pow(x, \(p)) \(T.dtype) (\(x.count) points): max ulp"
        for isa in InstructionSet.supported {
            let y = VectorMathAccuracyTests.run(f, x, isa)
            let (worst, worstX) = largestUlpDistance(y, reference, at: x)
            line += " \(isa) \(worst) (x = \(worstX))"
            #expect(
                Double(worst) <= bound,
                "pow(x, \(p)) \(T.dtype) \(isa): \(worst) ulp at x = \(worstX)")
        }
        print(line)
    }

    static func floatInputs(count: Int) -> [Float] {
        var g = WorkloadGenerator(seed: 0x5EED_0100)
        return (0..<count).map { i -> Float in
            switch i % 3 {
            case 0: Float(g.uniform(0, 10))
            case 1: Float(g.uniform(-10, 10))
            default:
                Float(
                    g.uniform(1, 2) * Double(sign: .plus, exponent: g.int(60) - 30, significand: 1))
            }
        }
    }

    @Test(arguments: exponents)
    func float32WithinTheBoundOfLibmInDouble(p: Double) {
        let f = UnaryFunction.pow(p)
        let bound = VectorMath.maxUlpError(f, Float.self)!
        let x = Self.floatInputs(count: 30_000)
        // The exponent as the catalog's `power` uses it: rounded to Float.
        let reference = x.map { Float(Foundation.pow(Double($0), Double(Float(p)))) }
        for isa in InstructionSet.supported {
            let y = VectorMathAccuracyTests.run(f, x, isa)
            var worst = 0
            for k in x.indices {
                if reference[k].isNaN || reference[k].isInfinite || reference[k] == 0 {
                    #expect(
                        y[k].bitPattern == reference[k].bitPattern
                            || (y[k].isNaN && reference[k].isNaN),
                        "pow(\(x[k]), \(p)) on \(isa) = \(y[k]), not \(reference[k])")
                } else {
                    worst = max(worst, ulpDistance(y[k], reference[k]))
                }
            }
            #expect(Double(worst) <= bound, "pow(x, \(p)) on \(isa): \(worst) ulp")
        }
    }

    /// Special and edge values: x = ±0, ±inf, NaN, ±1, the extremes and
    /// subnormals, for exponents of every kind (odd and even integers,
    /// non-integers, positive and negative, huge).
    static func specialInputs<T: ReferenceElement>(_: T.Type) -> [T] {
        [
            0, -0.0, .infinity, -.infinity, .nan, 1, -1, 2, -2, 0.5, -0.5, 10, -10,
            .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude,
            -.leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            T(1e-20), T(1e20), T(1) + .ulpOfOne, T(1) - .ulpOfOne / 2,
        ]
    }

    static let specialExponents: [Double] = [
        0.5, -0.5, 3, -3, 4, -4, 2.5, -2.5, 7, 0.1, 1e10, -1e10, 1e30, 1.5, -1.5, 1e-3, 0x1p60 + 1,
    ]

    @Test(arguments: [false, true])
    func specialValuesAsIEEEPow(double: Bool) {
        if double { checkSpecials(Double.self) } else { checkSpecials(Float.self) }
    }

    func checkSpecials<T: ReferenceElement>(_: T.Type) {
        let x = Self.specialInputs(T.self)
        for p in Self.specialExponents {
            let f = UnaryFunction.pow(p)
            let bound = VectorMath.maxUlpError(f, T.self)!
            // libm (in double for Float: Float's own powf is not the
            // reference of the accuracy table).
            let expected = x.map { xk -> T in
                T.self == Float.self
                    ? T(Foundation.pow(Double(xk), Double(Float(p)))) : T.pow(xk, T(p))
            }
            for isa in InstructionSet.supported {
                let y = VectorMathAccuracyTests.run(f, x, isa)
                for k in x.indices {
                    let e = expected[k]
                    if e.isNaN || e.isInfinite || e == 0 || e.magnitude == 1 {
                        #expect(
                            y[k].bits == e.bits || (y[k].isNaN && e.isNaN),
                            "pow(\(x[k]), \(p)) \(T.dtype) \(isa) = \(y[k]), not \(e)")
                    } else {
                        #expect(
                            Double(ulpDistance(y[k], e)) <= bound,
                            "pow(\(x[k]), \(p)) \(T.dtype) \(isa) = \(y[k]), not \(e)")
                    }
                }
            }
        }
    }

    @Test(arguments: [false, true])
    func resultsDoNotDependOnTheSplit(double: Bool) {
        if double { checkSplits(Double.self) } else { checkSplits(Float.self) }
    }

    func checkSplits<T: ReferenceElement>(_: T.Type) {
        let x = Self.inputs(3, T.self, count: 999) + Self.specialInputs(T.self)
        for p in [2.5, -3, 1.0 / 3] {
            let f = UnaryFunction.pow(p)
            for isa in InstructionSet.supported {
                VectorMathAccuracyTests.expectChunksAgree(
                    f, x, isa, "pow(x, \(p)) \(T.dtype) \(isa)")
            }
        }
    }

    @Test func exactPowersStayExact() {
        var y: Float = 0
        var yd: Double = 0
        let x: Float = 3
        let xd: Double = 3
        for p in [0.0, 1, 2, -1, .infinity, .nan] {
            #expect(!VectorMath.apply(.pow(p), x: [x], y: &y, count: 1))
            #expect(!VectorMath.apply(.pow(p), x: [xd], y: &yd, count: 1))
        }
        #expect(VectorMath.apply(.pow(0.5), x: [xd], y: &yd, count: 1))
        #expect(yd == Double(3).squareRoot())
        #expect(VectorMath.apply(.pow(0.5), x: [x], y: &y, count: 1))
        #expect(y == Float(3).squareRoot())
    }
}
