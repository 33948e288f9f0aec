import Testing

@testable import Backprop

/// Note [In-place chains]: a chained node may compute into its parent's
/// buffer, so every chainable forward kernel must give the same bits with
/// its output on top of an input as with a buffer of its own — special
/// values, every length up to two vectors past a multiple of the width.
@Suite struct InPlaceKernelTests {
    static func inputs<T: ReferenceElement>(_: T.Type, count: Int) -> [T] {
        let specials: [T] = [
            0, -0.0, 1, -1, .nan, .infinity, -.infinity, .leastNonzeroMagnitude,
            -.leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.5, -2.5, 3,
        ]
        return (0..<count).map { specials[($0 * 7) % specials.count] * T(1 + $0 % 3) }
    }

    /// Runs a forward kernel over an arena `[a | b | out]`, with the output
    /// in its own place or on top of operand `inPlace`; the output's bits.
    static func run<T: ReferenceElement>(
        _ kernel: NodeKernel, _ a: [T], _ b: [T], outCount: Int, inPlace: Int?
    ) throws -> [UInt64] {
        var arena = a + b + [T](repeating: 7, count: outCount)
        let offsets = [0, a.count]
        let out = inPlace.map { offsets[$0] } ?? a.count + b.count
        try arena.withUnsafeMutableBufferPointer { values in
            try offsets.withUnsafeBufferPointer { parents in
                let io = KernelIO(
                    values: values.baseAddress!, parentOffsets: parents.baseAddress!,
                    parentCount: 2, outOffset: out, aux: nil)
                try kernel.forward(io, 0..<outCount, useBLAS: false)
            }
        }
        return arena[out..<(out + outCount)].map(\.bits)
    }

    @Test(arguments: [false, true])
    func chainableKernelsGiveTheSameBitsInPlace(double: Bool) throws {
        if double { try check(Double.self) } else { try check(Float.self) }
    }

    func check<T: ReferenceElement>(_: T.Type) throws {
        let unary: [UnaryFunction] = [
            .neg, .relu, .abs, .sqrt, .pow(2), .pow(0.5), .exp, .log, .tanh, .sigmoid, .sin,
        ]
        for n in [0, 1, 3, 7, 8, 9, 16, 19, 37] {
            let a = Self.inputs(T.self, count: n)
            let b = Self.inputs(T.self, count: n + 5).suffix(n).map { $0 }
            for f in unary {
                let kernel = NodeKernel.unary(f)
                let separate = try Self.run(kernel, a, b, outCount: n, inPlace: nil)
                #expect(
                    try Self.run(kernel, a, b, outCount: n, inPlace: 0) == separate, "\(f) n \(n)")
            }
            let same = Broadcast2([n], [n], out: [n])
            for f in [BinaryFunction.add, .sub, .mul, .div] {
                let kernel = NodeKernel.binary(f, same)
                let separate = try Self.run(kernel, a, b, outCount: n, inPlace: nil)
                for slot in [0, 1] {
                    #expect(
                        try Self.run(kernel, a, b, outCount: n, inPlace: slot) == separate,
                        "\(f) n \(n) in place of operand \(slot)")
                }
            }
            // A bias row: [rows, n] + [n], in place of the matrix operand.
            let rows = 3
            let matrix = Self.inputs(T.self, count: rows * n)
            let bias = Broadcast2([rows, n], [n], out: [rows, n])
            for f in [BinaryFunction.add, .mul] {
                let kernel = NodeKernel.binary(f, bias)
                let separate = try Self.run(kernel, matrix, b, outCount: rows * n, inPlace: nil)
                #expect(
                    try Self.run(kernel, matrix, b, outCount: rows * n, inPlace: 0) == separate,
                    "bias \(f) n \(n)")
            }
        }
    }

    /// Note [In-place gradients]: every unary VJP overwriting its own
    /// cotangent gives the bits it writes into a buffer of its own.
    @Test(arguments: [false, true])
    func unaryVJPsGiveTheSameBitsInPlace(double: Bool) throws {
        if double { try checkVJPs(Double.self) } else { try checkVJPs(Float.self) }
    }

    func checkVJPs<T: ReferenceElement>(_: T.Type) throws {
        let unary: [UnaryFunction] = [
            .neg, .relu, .abs, .sqrt, .pow(2), .pow(0.5), .pow(0), .exp, .log, .tanh, .sigmoid,
            .sin, .cos,
        ]
        for n in [0, 1, 3, 7, 8, 9, 16, 19, 37] {
            let x = Self.inputs(T.self, count: n)
            let g = Self.inputs(T.self, count: n + 3).suffix(n).map { $0 }
            for f in unary {
                let kernel = NodeKernel.unary(f)
                // Arena: [x | y | g | dest]; y computed by the forward kernel.
                func vjp(inPlace: Bool) throws -> [UInt64] {
                    var arena = x + [T](repeating: 0, count: n) + g + [T](repeating: 7, count: n)
                    let offsets = [0]
                    try arena.withUnsafeMutableBufferPointer { values in
                        try offsets.withUnsafeBufferPointer { parents in
                            let base = values.baseAddress!
                            let io = KernelIO(
                                values: base, parentOffsets: parents.baseAddress!,
                                parentCount: 1, outOffset: n, aux: nil)
                            try kernel.forward(io, 0..<n, useBLAS: false)
                            let dest = base + (inPlace ? 2 * n : 3 * n)
                            let target = VJPTarget(
                                g: UnsafePointer(base + 2 * n), dest: dest, accumulate: false)
                            kernel.vjp(slot: 0, io, target, 0..<n, useBLAS: false)
                        }
                    }
                    let at = inPlace ? 2 * n : 3 * n
                    return arena[at..<(at + n)].map(\.bits)
                }
                #expect(try vjp(inPlace: true) == vjp(inPlace: false), "\(f) VJP n \(n)")
            }
        }
    }
}
