// How work is cut into chunks, and the cost arithmetic the passes share.
// Chunk boundaries are a function of the units, the cost estimate and the
// options only — never of the thread count (Note [Determinism]).

extension PlanOptions {
    /// Splits `units` into chunks of about `grain` cost, each at least
    /// `minimum` units and at most `maxChunksPerNode` of them; boundaries
    /// fall on multiples of 16 units when chunks are that large.
    func chunks(units: Int, cost: Int, minimum: Int = 1) -> [Range<Int>] {
        guard units > 0 else { return [] }
        let total = saturatingProduct(units, Swift.max(1, cost))
        let count = Swift.min(
            units / Swift.max(1, minimum), maxChunksPerNode,
            Swift.max(1, (total + grain - 1) / grain))
        if count <= 1 { return [0..<units] }
        let align = units / count >= 16 ? 16 : 1
        var result: [Range<Int>] = []
        var lower = 0
        for c in 1...count {
            let upper = c == count ? units : (units * c / count) / align * align
            if upper > lower {
                result.append(lower..<upper)
                lower = upper
            }
        }
        return result
    }
}

/// a · b, or `Int.max` when that overflows (cost estimates of huge nodes).
func saturatingProduct(_ a: Int, _ b: Int) -> Int {
    let (p, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max : p
}

/// a + b, or `Int.max` when that overflows.
func saturatingSum(_ a: Int, _ b: Int) -> Int {
    let (s, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max : s
}
