/// Every buffer a plan needs, by id: its size, what it holds, and the first
/// and last time an item touches it (Note [Memory reuse]). Passes add
/// buffers as they need them; 7-ArenaLayout gives each its place in the
/// arena (``layout()``).
struct BufferTable {
    /// Per buffer: its size in elements.
    private(set) var size: [Int] = []
    /// Per buffer: what it holds (what NUMA placement goes by).
    private(set) var role: [BufferRole] = []
    /// Per buffer: the first time an item touches it; -1 for a permanent
    /// buffer (it lives for the whole run), `Int.max` while untouched.
    private(set) var birth: [Int] = []
    /// Per buffer: the last time an item touches it; `Int.max` for a
    /// permanent buffer, -1 while untouched (it then gets no place).
    private(set) var death: [Int] = []

    var count: Int { size.count }

    /// Adds a buffer and returns its id. A permanent buffer lives for the
    /// whole run: callers read or write it between runs.
    mutating func newBuffer(_ size: Int, _ role: BufferRole, permanent: Bool = false) -> Int {
        self.size.append(size)
        self.role.append(role)
        birth.append(permanent ? -1 : Int.max)
        death.append(permanent ? Int.max : -1)
        return self.size.count - 1
    }

    /// Records that an item running at time `t` touches `buffer`.
    mutating func touch(_ buffer: Int, _ t: Int) {
        birth[buffer] = Swift.min(birth[buffer], t)
        death[buffer] = Swift.max(death[buffer], t)
    }
}

/// Per node, the buffer (an id in the ``BufferTable``) that holds its
/// value, gradient, scratch and optimizer state; -1 for none.
struct NodeBuffers {
    var value: [Int]
    var gradient: [Int]
    /// A kernel's scratch (max's argmax, say).
    var aux: [Int]
    /// The optimizer's state of a parameter (Note [Optimizer phases]).
    var state: [Int]
    /// The cotangent fed into the output's gradient.
    var cotangent = -1

    init(nodeCount n: Int) {
        value = [Int](repeating: -1, count: n)
        gradient = [Int](repeating: -1, count: n)
        aux = [Int](repeating: -1, count: n)
        state = [Int](repeating: -1, count: n)
    }
}
