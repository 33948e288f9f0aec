import BackpropWorkloads
import Dispatch
import Foundation
import Testing

@testable import Backprop

/// One matrix-product shape: C (m×n) (+)= op(A) (m×k) · op(B) (k×n).
struct GemmCase: Sendable, CustomTestStringConvertible {
    let m: Int, n: Int, k: Int
    let transposeA: Bool, transposeB: Bool, accumulate: Bool

    var testDescription: String {
        "\(m)×\(n)×\(k)\(transposeA ? " Aᵀ" : "")\(transposeB ? " Bᵀ" : "")"
            + (accumulate ? " +=" : "")
    }

    /// Odd sizes, the micro-tiles (6×8 to 14×32) and their tails, a k block
    /// boundary (256), a row block boundary (140, 144), a column panel
    /// boundary (512 doubles, 1024 floats) and one column (the matrix–vector
    /// path, short and with several of its eight-vector blocks of
    /// transposed rows), in all four transpose combinations.
    static let all: [GemmCase] = {
        let shapes = [
            (1, 1, 1), (3, 5, 7), (17, 33, 65), (64, 64, 64), (150, 9, 300), (37, 1, 40),
            (9, 1030, 21), (29, 47, 257), (150, 1, 300),
        ]
        var cases: [GemmCase] = []
        for (m, n, k) in shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for accumulate in [false, true] {
                        cases.append(
                            GemmCase(
                                m: m, n: n, k: k, transposeA: transposeA,
                                transposeB: transposeB, accumulate: accumulate))
                    }
                }
            }
        }
        return cases
    }()

    /// Stored A: m×k, or k×m when transposed.
    var aRows: Int { transposeA ? k : m }
    var aColumns: Int { transposeA ? m : k }
    /// Stored B: k×n, or n×k when transposed.
    var bRows: Int { transposeB ? n : k }
    var bColumns: Int { transposeB ? k : n }
}

/// Operands of a ``GemmCase`` with leading dimensions larger than needed.
/// Padding of A and B holds NaN (a kernel that reads it poisons C), padding
/// of C holds a sentinel that must survive.
struct GemmOperands<T: TensorElement> {
    static var sentinel: T { 12345 }

    let shape: GemmCase
    let lda: Int, ldb: Int, ldc: Int
    var a: [T], b: [T], c: [T]

    init(_ shape: GemmCase, seed: UInt64) {
        self.shape = shape
        var rng = WorkloadGenerator(seed: seed)
        lda = shape.aColumns + 3
        ldb = shape.bColumns + 2
        ldc = shape.n + 5
        func matrix(_ rows: Int, _ columns: Int, _ ld: Int, padding: T) -> [T] {
            var out = [T](repeating: padding, count: rows * ld)
            for i in 0..<rows {
                for j in 0..<columns { out[i * ld + j] = T(rng.uniform(-1, 1)) }
            }
            return out
        }
        a = matrix(shape.aRows, shape.aColumns, lda, padding: .nan)
        b = matrix(shape.bRows, shape.bColumns, ldb, padding: .nan)
        c = matrix(shape.m, shape.n, ldc, padding: Self.sentinel)
    }

    func opA(_ i: Int, _ p: Int) -> T { shape.transposeA ? a[p * lda + i] : a[i * lda + p] }
    func opB(_ p: Int, _ j: Int) -> T { shape.transposeB ? b[j * ldb + p] : b[p * ldb + j] }

    /// The product in Double, with a bound on the error of any summation
    /// order in T: (k + 2)·ε·(Σ|a·b| + |c|).
    func reference() -> (values: [Double], bounds: [Double]) {
        var values = [Double](repeating: 0, count: shape.m * shape.n)
        var bounds = values
        let eps = Double(T.ulpOfOne) * Double(shape.k + 2)
        for i in 0..<shape.m {
            for j in 0..<shape.n {
                let c0 = shape.accumulate ? Double(c[i * ldc + j]) : 0
                var s = c0
                var magnitude = Swift.abs(c0)
                for p in 0..<shape.k {
                    let t = Double(opA(i, p)) * Double(opB(p, j))
                    s += t
                    magnitude += Swift.abs(t)
                }
                values[i * shape.n + j] = s
                bounds[i * shape.n + j] = eps * magnitude + Double(T.leastNormalMagnitude)
            }
        }
        return (values, bounds)
    }

    /// The order Note [Gemm determinism] promises, computed in T: each step
    /// fused (`fused`, AVX2 and AVX-512) or the product rounded first.
    func sequential(fused: Bool = Gemm.fusesMultiplyAdd) -> [T] {
        var out = c
        for i in 0..<shape.m {
            for j in 0..<shape.n {
                var s: T = shape.accumulate ? c[i * ldc + j] : 0
                for p in 0..<shape.k {
                    s = fused ? s.addingProduct(opA(i, p), opB(p, j)) : s + opA(i, p) * opB(p, j)
                }
                out[i * ldc + j] = s
            }
        }
        return out
    }

    /// Runs the kernel over rows `rows` and columns `columns` of C, pointers
    /// offset as a row-range (or column-range) chunk of the runtime would.
    mutating func multiply(
        rows: Range<Int>? = nil, columns: Range<Int>? = nil, useBLAS: Bool,
        instructionSet: InstructionSet = .current
    ) {
        let rows = rows ?? 0..<shape.m
        let columns = columns ?? 0..<shape.n
        let s = shape
        let (lda, ldb, ldc) = (self.lda, self.ldb, self.ldc)
        let aOffset = s.transposeA ? rows.lowerBound : rows.lowerBound * lda
        let bOffset = s.transposeB ? columns.lowerBound * ldb : columns.lowerBound
        let cOffset = rows.lowerBound * ldc + columns.lowerBound
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    Gemm.multiply(
                        transposeA: s.transposeA, transposeB: s.transposeB,
                        m: rows.count, n: columns.count, k: s.k,
                        a: a.baseAddress! + aOffset, lda: lda,
                        b: b.baseAddress! + bOffset, ldb: ldb,
                        c: c.baseAddress! + cOffset, ldc: ldc,
                        accumulate: s.accumulate, useBLAS: useBLAS,
                        kernels: Gemm.kernelSet(for: instructionSet))
                }
            }
        }
    }

    /// Checks C against the Double reference and its padding against the sentinel.
    func expectClose(to reference: (values: [Double], bounds: [Double])) {
        var failures = 0
        for i in 0..<shape.m {
            for j in 0..<ldc {
                let got = c[i * ldc + j]
                if j >= shape.n {
                    if got != Self.sentinel { failures += 1 }
                    continue
                }
                let want = reference.values[i * shape.n + j]
                if !(Swift.abs(Double(got) - want) <= reference.bounds[i * shape.n + j]) {
                    failures += 1
                }
            }
        }
        #expect(failures == 0, "\(T.self) \(shape.testDescription): \(failures) wrong elements")
    }
}

/// Bitwise equality, NaN payloads and the sign of zero included.
func sameBits<T: BinaryFloatingPoint>(_ x: [T], _ y: [T]) -> Bool {
    x.count == y.count
        && zip(x, y).allSatisfy {
            $0.sign == $1.sign && $0.exponentBitPattern == $1.exponentBitPattern
                && $0.significandBitPattern == $1.significandBitPattern
        }
}

@Suite("Gemm")
struct GemmTests {
    @Test(
        "own kernel against a Double triple loop, in the documented order, on every instruction set",
        arguments: GemmCase.all)
    func ownKernel(_ shape: GemmCase) {
        for set in InstructionSet.supported {
            check(Float.self, shape, set)
            check(Double.self, shape, set)
        }
    }

    private func check<T: TensorElement>(_: T.Type, _ shape: GemmCase, _ set: InstructionSet) {
        var x = GemmOperands<T>(shape, seed: 7)
        let reference = x.reference()
        let sequential = x.sequential(fused: Gemm.kernelSet(for: set).fused != 0)
        x.multiply(useBLAS: false, instructionSet: set)
        x.expectClose(to: reference)
        // The own kernel sums in exactly the documented order.
        #expect(sameBits(x.c, sequential), "\(T.self) \(shape.testDescription) \(set)")
    }

    @Test(
        "row ranges are bitwise equal to the whole product, on every instruction set",
        arguments: GemmCase.all)
    func rowSplit(_ shape: GemmCase) {
        for set in InstructionSet.supported {
            splitRows(Float.self, shape, set)
            splitRows(Double.self, shape, set)
        }
    }

    private func splitRows<T: TensorElement>(_: T.Type, _ shape: GemmCase, _ set: InstructionSet) {
        var whole = GemmOperands<T>(shape, seed: 11)
        let start = whole
        whole.multiply(useBLAS: false, instructionSet: set)
        // Uneven ranges: [0, r) and [r, m); then single rows and the rest.
        let r = (shape.m + 1) / 3
        var twoRanges = start
        twoRanges.multiply(rows: 0..<r, useBLAS: false, instructionSet: set)
        twoRanges.multiply(rows: r..<shape.m, useBLAS: false, instructionSet: set)
        #expect(sameBits(whole.c, twoRanges.c), "\(T.self) \(shape.testDescription) \(set)")
        var ragged = start
        var row = 0
        var width = 1
        while row < shape.m {
            let end = Swift.min(shape.m, row + width)
            ragged.multiply(rows: row..<end, useBLAS: false, instructionSet: set)
            row = end
            width += 4
        }
        #expect(sameBits(whole.c, ragged.c), "\(T.self) \(shape.testDescription) \(set)")
    }

    @Test("batched products in row chunks across batches are bitwise equal to whole ones")
    func batchedRowChunks() {
        // Three batches of each layout the runtime uses (A·B forward, G·Bᵀ and
        // Aᵀ·G VJPs), flattened to batch·m rows and cut into chunks that
        // cross batch boundaries, as MatmulKernels does.
        let batch = 3
        for (transposeA, transposeB) in [(false, false), (false, true), (true, false)] {
            let shape = GemmCase(
                m: 23, n: 19, k: 31, transposeA: transposeA, transposeB: transposeB,
                accumulate: false)
            for seedOffset in 0..<2 {
                let batches = (0..<batch).map {
                    GemmOperands<Float>(shape, seed: UInt64(31 + 7 * $0 + seedOffset))
                }
                var whole = batches
                for t in 0..<batch { whole[t].multiply(useBLAS: false) }
                var chunked = batches
                var start = 0
                let total = batch * shape.m
                for width in [5, 17, 1, 30, 6, 100] where start < total {
                    let end = Swift.min(total, start + width)
                    var row = start
                    while row < end {
                        let t = row / shape.m, first = row % shape.m
                        let count = Swift.min(shape.m - first, end - row)
                        chunked[t].multiply(rows: first..<(first + count), useBLAS: false)
                        row += count
                    }
                    start = end
                }
                for t in 0..<batch {
                    #expect(
                        sameBits(whole[t].c, chunked[t].c), "\(shape.testDescription) batch \(t)")
                }
                var doubles = (0..<batch).map {
                    GemmOperands<Double>(shape, seed: UInt64(41 + $0 + seedOffset))
                }
                let doublesStart = doubles
                for t in 0..<batch { doubles[t].multiply(useBLAS: false) }
                for t in 0..<batch {
                    var split = doublesStart[t]
                    split.multiply(rows: 0..<7, useBLAS: false)
                    split.multiply(rows: 7..<shape.m, useBLAS: false)
                    #expect(sameBits(doubles[t].c, split.c), "Double \(shape.testDescription)")
                }
            }
        }
    }

    @Test("column ranges are bitwise equal to the whole product", arguments: GemmCase.all)
    func columnSplit(_ shape: GemmCase) {
        var whole = GemmOperands<Float>(shape, seed: 13)
        var split = whole
        whole.multiply(useBLAS: false)
        let j = (2 * shape.n) / 3
        split.multiply(columns: j..<shape.n, useBLAS: false)
        split.multiply(columns: 0..<j, useBLAS: false)
        #expect(sameBits(whole.c, split.c))
    }

    @Test("empty extents: m or n of 0 writes nothing, k of 0 zeroes or keeps C")
    func emptyExtents() {
        for accumulate in [false, true] {
            var zeroRows = GemmOperands<Double>(
                GemmCase(
                    m: 4, n: 3, k: 5, transposeA: false, transposeB: false, accumulate: accumulate),
                seed: 3)
            let before = zeroRows.c
            zeroRows.multiply(rows: 0..<0, useBLAS: false)
            zeroRows.multiply(columns: 2..<2, useBLAS: true)
            #expect(sameBits(before, zeroRows.c))

            for useBLAS in [false, true] {
                var noDepth = GemmOperands<Float>(
                    GemmCase(
                        m: 4, n: 3, k: 0, transposeA: true, transposeB: true,
                        accumulate: accumulate),
                    seed: 5)
                noDepth.multiply(useBLAS: useBLAS)
                noDepth.expectClose(to: noDepth.reference())
            }
        }
    }

    @Test("BACKPROP_BLAS=off disables the BLAS; without one, useBLAS falls back")
    func blasSwitch() {
        for value in ["off", "OFF", "0", "false"] {
            let disabled = BLAS.load(environment: [BLAS.environmentVariable: value])
            #expect(disabled.library == nil)
            #expect(disabled.status == "disabled by BACKPROP_BLAS=\(value)")
        }
        #expect(!BLAS.isDisabled(by: nil))
        #expect(!BLAS.isDisabled(by: "on"))
        // Plans use the own kernel unless BACKPROP_BLAS=on (Note [Own kernel by default]).
        for value in ["on", "ON", "1", "true", "yes", "openblas"] {
            #expect(BLAS.isPreferred(by: value) && BLAS.isValid(value))
        }
        for value in [nil, "off", "0", "maybe"] { #expect(!BLAS.isPreferred(by: value)) }
        #expect(!BLAS.isValid("maybe") && BLAS.isValid(nil) && BLAS.isValid("off"))
        #expect(PlanOptions().useBLAS == BLAS.preferredByDefault)
        #expect(PlanOptions(useBLAS: true).useBLAS && !PlanOptions(useBLAS: false).useBLAS)
        // Unless this process disabled it, an empty environment finds what the
        // process found.
        if !BLAS.status.hasPrefix("disabled") {
            let found = BLAS.load(environment: [:])
            #expect((found.library == nil) == (BLAS.shared == nil))
            #expect(found.status == BLAS.status)
        }

        // Missing libraries, and libraries without the CBLAS entry points, are skipped.
        let absent = ["not found", "not available on this platform"]
        let missing = BLAS.load(environment: [:], names: ["libbackprop-no-such-blas.so"])
        #expect(missing.library == nil && absent.contains(missing.status))
        let notBLAS = BLAS.load(environment: [:], names: ["libm.so.6"])
        #expect(notBLAS.library == nil && absent.contains(notBLAS.status))

        // With no BLAS loaded, asking for it runs the portable kernel.
        if BLAS.shared == nil {
            let shape = GemmCase(
                m: 17, n: 33, k: 65, transposeA: true, transposeB: false, accumulate: true)
            var x = GemmOperands<Float>(shape, seed: 17)
            let sequential = x.sequential()
            x.multiply(useBLAS: true)
            #expect(sameBits(x.c, sequential))
        }
    }

    /// Note [Own kernel by default]: a plan made with default options runs
    /// its products on the own kernel (unless the process runs with
    /// `BACKPROP_BLAS=on`), so its bits are those of `useBLAS: false`
    /// whether or not OpenBLAS is installed.
    @Test("default plans use the own kernel")
    func defaultPlansUseTheOwnKernel() throws {
        let graph = try classifier(seed: 4, batch: 64, features: 96, hidden: 128)
        let byDefault = Plan(graph)
        #expect(byDefault.usesBLAS == (BLAS.preferredByDefault && BLAS.shared != nil))
        guard !BLAS.preferredByDefault else { return }
        let own = try Execution(plan: Plan(graph, options: PlanOptions(useBLAS: false)))
        let plain = try Execution(plan: byDefault)
        try own.run()
        try plain.run()
        #expect(sameBits(own.output.scalars, plain.output.scalars))
        #expect(sameBits(own.gradient(of: "W1")!.scalars, plain.gradient(of: "W1")!.scalars))
    }

    @Test("concurrent calls on both paths agree with a serial call")
    func concurrentCalls() {
        let shape = GemmCase(
            m: 64, n: 64, k: 300, transposeA: false, transposeB: true, accumulate: false)
        for useBLAS in [false, true] {
            var serial = GemmOperands<Float>(shape, seed: 23)
            let start = serial
            serial.multiply(useBLAS: useBLAS)
            let expected = serial.c
            let agree = Agreement(count: 8)
            DispatchQueue.concurrentPerform(iterations: 8) { t in
                var x = start
                x.multiply(useBLAS: useBLAS)
                agree.record(t, sameBits(x.c, expected))
            }
            #expect(agree.all, "useBLAS: \(useBLAS)")
        }
    }

    @Test(
        "BLAS path against a Double triple loop, reproducible",
        .enabled(if: BLAS.shared != nil, "no BLAS loaded"),
        arguments: GemmCase.all)
    func blas(_ shape: GemmCase) {
        blasCheck(Float.self, shape)
        blasCheck(Double.self, shape)
    }

    private func blasCheck<T: TensorElement>(_: T.Type, _ shape: GemmCase) {
        var x = GemmOperands<T>(shape, seed: 19)
        var again = x
        let reference = x.reference()
        x.multiply(useBLAS: true)
        x.expectClose(to: reference)
        again.multiply(useBLAS: true)
        #expect(sameBits(x.c, again.c), "\(T.self) \(shape.testDescription)")
    }
}

/// Per-iteration results of a concurrent test, each slot written by one iteration.
final class Agreement: @unchecked Sendable {
    private var results: [Bool]
    private let lock = NSLock()
    init(count: Int) { results = Array(repeating: false, count: count) }
    func record(_ index: Int, _ value: Bool) { lock.withLock { results[index] = value } }
    var all: Bool { lock.withLock { results.allSatisfy { $0 } } }
}
