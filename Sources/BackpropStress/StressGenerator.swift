import Backprop

/// A small, fast generator for stress graphs: SplitMix64, so that any seed
/// (including consecutive ones) gives an independent stream.
public struct StressRandom: Sendable {
    /// The state.
    public var state: UInt64

    /// A generator seeded with `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An integer in `0..<n` (`n` > 0).
    public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// An integer in `range`.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(range.count)
    }

    /// A Double in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * (Double(next() >> 11) * 0x1p-53)
    }

    /// Whether an event of probability `p` happens.
    public mutating func chance(_ p: Double) -> Bool { uniform(0, 1) < p }

    /// A random element of a non-empty array.
    public mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
}

/// The op families a stress graph draws from.
public enum StressOpFamily: String, CaseIterable, Sendable, Codable {
    /// Unary and binary elementwise ops, with broadcasting.
    case elementwise
    /// Matrix products (plain and batched).
    case matmul
    /// sum, mean and max over an axis or all axes.
    case reduce
    /// reshape, transpose, slice, concat, broadcast.
    case movement
    /// softmax and log-softmax.
    case softmax
    /// cross-entropy and sigmoid cross-entropy.
    case loss
}

/// The shape of the random graphs `backprop stress` builds.
public struct StressGraphSettings: Sendable, Equatable {
    /// Scalar graphs (the S1 shape), tensor graphs, or both alternately.
    public enum Kind: String, Sendable, CaseIterable {
        case scalar, tensor, mixed
    }
    /// The element types to draw from.
    public enum DTypeChoice: String, Sendable, CaseIterable {
        case float32, float64, mixed
    }

    public var kind: Kind = .mixed
    public var dtype: DTypeChoice = .mixed
    /// Computing nodes per graph (an upper bound; at least 1).
    public var nodes = 120
    /// The most nodes per level.
    public var width = 12
    /// The most levels (graph depth).
    public var depth = 24
    /// The most parents of a sum node (fan-in).
    public var fanIn = 4
    /// The op families tensor graphs use.
    public var ops: Set<StressOpFamily> = Set(StressOpFamily.allCases)
    /// The largest extent of a tensor axis.
    public var maxExtent = 12

    /// Default settings.
    public init() {}
}

extension AnyGraph {
    /// The number of nodes.
    var nodeCount: Int {
        switch self {
        case .float32(let g): g.count
        case .float64(let g): g.count
        }
    }
}

/// Builds random DAGs for the stress test, deterministically from a seed.
///
/// Graphs are built level by level: every node of a level takes its first
/// parent from the level just above (so the depth is real) and further
/// parents from any earlier level (fan-out, skip connections). Parameters
/// are reused across nodes (shared parameters: many gradient contributions
/// into one buffer). Values stay bounded and in every op's domain —
/// `log` and `sqrt` of `x² + 1`, division by `x² + 1`, `exp` of `tanh x`,
/// products with `tanh` of the other factor — so that the checks compare
/// finite numbers.
public struct StressGenerator: Sendable {
    public let settings: StressGraphSettings

    /// A generator with `settings`.
    public init(settings: StressGraphSettings) { self.settings = settings }

    /// The graph for `seed`.
    public func graph(seed: UInt64) throws -> AnyGraph {
        var rng = StressRandom(seed: seed)
        let float64: Bool
        switch settings.dtype {
        case .float32: float64 = false
        case .float64: float64 = true
        case .mixed: float64 = rng.chance(0.5)
        }
        let scalar: Bool
        switch settings.kind {
        case .scalar: scalar = true
        case .tensor: scalar = false
        case .mixed: scalar = rng.chance(0.3)
        }
        if float64 {
            return .float64(try scalar ? scalarGraph(&rng) : tensorGraph(&rng))
        }
        return .float32(try scalar ? scalarGraph(&rng) : tensorGraph(&rng))
    }

    /// A graph of scalar nodes: unary and binary ops, fan-in sums.
    func scalarGraph<T: TensorElement>(_ rng: inout StressRandom) throws -> Graph<T> {
        let b = GraphBuilder<T>()
        let inputCount = Swift.max(2, Swift.min(settings.width, 8))
        var levels: [[Node<T>]] = [
            (0..<inputCount).map { b.input("x\($0)", Tensor(T(rng.uniform(-1, 1)))) }
        ]
        var made = 0
        var used = Set<Int>()
        while made < settings.nodes && levels.count <= settings.depth {
            let width = rng.int(in: 1...Swift.max(1, settings.width))
            var level: [Node<T>] = []
            for _ in 0..<Swift.min(width, settings.nodes - made) {
                let a = rng.pick(levels[levels.count - 1])
                let c = rng.pick(rng.pick(levels))
                used.insert(a.id)
                used.insert(c.id)
                let next: Node<T>
                switch rng.int(10) {
                case 0: next = tanh(a + c)
                case 1: next = a * tanh(c)
                case 2: next = sin(a)
                case 3: next = a - c
                case 4: next = a / (c * c + 1)
                case 5: next = sigmoid(a) + cos(c)
                case 6: next = log(a * a + 1)
                case 7: next = exp(tanh(a)) * c.pow(2).tanh()
                case 8:
                    var terms = [a, c]
                    for _ in 0..<rng.int(Swift.max(1, settings.fanIn - 1)) {
                        let t = rng.pick(rng.pick(levels))
                        used.insert(t.id)
                        terms.append(t)
                    }
                    next = terms.dropFirst().reduce(terms[0], +)
                default: next = a.relu() + c.abs() * 0.5
                }
                level.append(next)
                made += 1
            }
            levels.append(level)
        }
        let sinks = levels.joined().filter { !used.contains($0.id) }
        let out = sinks.dropFirst().reduce(sinks[0], +)
        return try b.build(output: out)
    }

    /// A graph of tensors of rank 0–4 over all op families in ``StressGraphSettings/ops``.
    func tensorGraph<T: TensorElement>(_ rng: inout StressRandom) throws -> Graph<T> {
        var builder = TensorGraphBuilder<T>(settings: settings)
        return try builder.build(&rng)
    }
}

/// The state of building one random tensor graph.
private struct TensorGraphBuilder<T: TensorElement> {
    let settings: StressGraphSettings
    let b = GraphBuilder<T>()
    var levels: [[(node: Node<T>, shape: Shape)]] = []
    var used = Set<Int>()
    /// Parameters by shape, reused to make shared parameters.
    var parameters: [Shape: [Node<T>]] = [:]
    var counter = 0

    init(settings: StressGraphSettings) { self.settings = settings }

    mutating func extent(_ rng: inout StressRandom) -> Int {
        rng.int(in: 1...Swift.max(1, settings.maxExtent))
    }

    mutating func randomShape(_ rng: inout StressRandom) -> Shape {
        Shape((0..<rng.int(in: 0...3)).map { _ in extent(&rng) })
    }

    mutating func tensor(_ shape: Shape, _ rng: inout StressRandom, scale: Double = 1) -> Tensor<T>
    {
        let scalars = (0..<shape.count).map { _ in T(rng.uniform(-scale, scale)) }
        return try! Tensor(shape: shape, scalars: scalars)
    }

    /// A parameter of `shape`: an existing one (shared) or a new one.
    mutating func parameter(_ shape: Shape, _ rng: inout StressRandom, scale: Double = 1) -> Node<T>
    {
        if let existing = parameters[shape], rng.chance(0.6) { return rng.pick(existing) }
        counter += 1
        let p = b.parameter("p\(counter)", tensor(shape, &rng, scale: scale))
        parameters[shape, default: []].append(p)
        return p
    }

    mutating func use(_ n: Node<T>) -> Node<T> {
        used.insert(n.id)
        return n
    }

    mutating func build(_ rng: inout StressRandom) throws -> Graph<T> {
        let inputCount = rng.int(in: 2...Swift.max(2, Swift.min(settings.width, 6)))
        levels = [
            (0..<inputCount).map { k in
                let s = randomShape(&rng)
                return (b.input("x\(k)", tensor(s, &rng)), s)
            }
        ]
        let families = StressOpFamily.allCases.filter { settings.ops.contains($0) }
        var made = 0
        while made < settings.nodes && levels.count <= settings.depth {
            let width = rng.int(in: 1...Swift.max(1, settings.width))
            var level: [(node: Node<T>, shape: Shape)] = []
            for _ in 0..<Swift.min(width, settings.nodes - made) {
                let a = rng.pick(levels[levels.count - 1])
                let family = families.isEmpty ? StressOpFamily.elementwise : rng.pick(families)
                level.append(apply(family, to: a, &rng) ?? elementwise(a, &rng))
                made += 1
            }
            levels.append(level)
        }
        let all = levels.joined().map { $0 }
        let sinks = all.filter { !used.contains($0.node.id) }
        let terms = sinks.map { $0.shape.rank == 0 ? $0.node : $0.node.mean() }
        let out = terms.dropFirst().reduce(terms[0], +)
        return try b.build(output: out)
    }

    /// Another node whose shape broadcasts with `shape`: from an earlier
    /// level, or a parameter.
    mutating func partner(for shape: Shape, _ rng: inout StressRandom) -> Node<T> {
        let candidates = levels.joined().filter { Shape.broadcast($0.shape, shape) == shape }
        if !candidates.isEmpty && rng.chance(0.5) { return use(rng.pick(candidates).node) }
        // A suffix of the shape, possibly with 1s: broadcasting.
        let dims = shape.dimensions
        let keep = rng.int(in: 0...dims.count)
        let suffix = dims.suffix(keep).map { rng.chance(0.25) ? 1 : $0 }
        return parameter(Shape(suffix), &rng)
    }

    mutating func elementwise(
        _ a: (node: Node<T>, shape: Shape), _ rng: inout StressRandom
    ) -> (node: Node<T>, shape: Shape) {
        let x = use(a.node)
        switch rng.int(9) {
        case 0: return (tanh(x), a.shape)
        case 1: return (sin(x) + cos(x), a.shape)
        case 2: return (log(x * x + 1) + sqrt(x * x + 1), a.shape)
        case 3: return (exp(tanh(x)) - x.sigmoid(), a.shape)
        case 4: return (x.relu() + x.abs().pow(1.5) * 0.25, a.shape)
        case 5: return (x + partner(for: a.shape, &rng), a.shape)
        case 6: return (x * tanh(partner(for: a.shape, &rng)), a.shape)
        case 7:
            let c = partner(for: a.shape, &rng)
            return (x / (c * c + 1) - c, a.shape)
        default:
            // A fan-in sum of same-shaped nodes.
            var terms = [x]
            for _ in 0..<rng.int(in: 1...Swift.max(1, settings.fanIn - 1)) {
                terms.append(partner(for: a.shape, &rng))
            }
            return (terms.dropFirst().reduce(terms[0], +), a.shape)
        }
    }

    mutating func apply(
        _ family: StressOpFamily, to a: (node: Node<T>, shape: Shape), _ rng: inout StressRandom
    ) -> (node: Node<T>, shape: Shape)? {
        let s = a.shape
        let dims = s.dimensions
        switch family {
        case .elementwise:
            return elementwise(a, &rng)
        case .matmul:
            guard s.rank == 2 || s.rank == 3 else { return nil }
            let k = dims[s.rank - 1], n = extent(&rng)
            let w = parameter([k, n], &rng, scale: 1 / Double(k).squareRoot())
            let x = use(a.node)
            if s.rank == 3 {
                // Batched: the parameter broadcast over the batch.
                let wb = w.broadcast(to: [dims[0], k, n])
                return (tanh(x.matmul(wb)), [dims[0], dims[1], n])
            }
            return (tanh(x.matmul(w)), [dims[0], n])
        case .reduce:
            guard s.rank > 0 else { return nil }
            let x = use(a.node)
            let r = rng.pick([Reduction.sum, .mean, .max])
            // Sums grow with the extent: keep values bounded (a float32 sum
            // of 1089 broadcast elements fed to sin once missed the reference
            // check by its rounding alone).
            if rng.chance(0.2) {
                let node = b.apply(.reduce(r, axes: nil, keepDims: false), [x])
                return (r == .sum ? tanh(node) : node, [])
            }
            let axis = rng.int(s.rank)
            let keep = rng.chance(0.5)
            var out = dims
            if keep { out[axis] = 1 } else { out.remove(at: axis) }
            let node = b.apply(.reduce(r, axes: [axis], keepDims: keep), [x])
            return (r == .sum ? tanh(node) : node, Shape(out))
        case .movement:
            let x = use(a.node)
            switch rng.int(5) {
            case 0:
                return (x.reshaped([-1]), [s.count])
            case 1:
                guard s.rank >= 2 else { return nil }
                var out = dims
                out.swapAt(s.rank - 1, s.rank - 2)
                return (x.transposed(), Shape(out))
            case 2:
                guard s.rank >= 1, dims[s.rank - 1] >= 2 else { return nil }
                let e = dims[s.rank - 1]
                let lo = rng.int(e - 1)
                let hi = rng.int(in: (lo + 1)...e)
                var out = dims
                out[s.rank - 1] = hi - lo
                return (x.slice(axis: -1, lo..<hi), Shape(out))
            case 3:
                guard s.rank >= 1 else { return nil }
                let same = levels.joined().filter { $0.shape == s && $0.node.id != x.id }
                let other = same.isEmpty ? tanh(x) : use(rng.pick(same).node)
                var out = dims
                out[0] *= 2
                return (concat([x, other], axis: 0), Shape(out))
            default:
                // A new leading axis, while the rank allows one.
                guard s.rank < Shape.maxRank else { return nil }
                let target = Shape([extent(&rng)] + dims)
                return (x.broadcast(to: target), target)
            }
        case .softmax:
            guard s.rank >= 1 else { return nil }
            let x = use(a.node)
            return (rng.chance(0.5) ? x.softmax() : x.logSoftmax(), s)
        case .loss:
            guard s.rank >= 1 else { return nil }
            let x = use(a.node)
            if rng.chance(0.5) {
                let classes = dims[s.rank - 1]
                let labelShape = Shape(Array(dims.dropLast()))
                let labels = (0..<labelShape.count).map { _ in T(rng.int(classes)) }
                let l = b.constant(try! Tensor(shape: labelShape, scalars: labels))
                return (crossEntropy(logits: x, labels: l), labelShape)
            }
            let targets = b.constant(
                try! Tensor(shape: s, scalars: (0..<s.count).map { _ in T(rng.uniform(0, 1)) }))
            return (sigmoidCrossEntropy(logits: x, targets: targets), s)
        }
    }
}
