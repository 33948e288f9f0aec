/// Two operands broadcast to an output.
struct Broadcast2: Sendable {
    let out: Dims4
    let a: Dims4, b: Dims4
    /// Operand strides in output space (0 on broadcast axes).
    let sa: SIMD4<Int>, sb: SIMD4<Int>
    /// The axes each operand was broadcast along, with the output's extents.
    let summedA: Dims4, summedB: Dims4
    /// Whether both operands have the output's shape.
    let same: Bool

    init(_ a: Shape, _ b: Shape, out: Shape) {
        self.out = Dims4(out)
        self.a = Dims4(a)
        self.b = Dims4(b)
        sa = broadcastStrides4(a, to: out)
        sb = broadcastStrides4(b, to: out)
        summedA = Broadcast2.summed(Dims4(a), Dims4(out))
        summedB = Broadcast2.summed(Dims4(b), Dims4(out))
        same = a == out && b == out
    }

    /// When operand `slot` is the output's trailing axes broadcast over all
    /// the leading ones (a bias row over a batch): the number of leading
    /// rows. Its element e is then at offset `row · count + e` of the
    /// output, in every row.
    func leadingRows(slot: Int) -> Int? {
        let operand = slot == 0 ? a : b
        var axis = 0
        while axis < 4 && operand.extents[axis] == 1 { axis += 1 }
        for k in axis..<4 where operand.extents[k] != out.extents[k] { return nil }
        let rows = out.count / Swift.max(1, operand.count)
        return rows > 1 ? rows : nil
    }

    static func summed(_ operand: Dims4, _ out: Dims4) -> Dims4 {
        var e = SIMD4<Int>(repeating: 1)
        for axis in 0..<4 where operand.extents[axis] == 1 { e[axis] = out.extents[axis] }
        return Dims4(extents: e)
    }
}
