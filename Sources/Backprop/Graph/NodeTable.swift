/// A node's dense integer id: its position in creation (or definition) order.
public typealias NodeID = Int

/// The nodes of a graph under construction, stored column by column, with
/// parents in compressed sparse rows (`parentStart[i]..<parentStart[i + 1]`
/// indexes `parentList`). Graphs of 10⁶ nodes stay a handful of arrays.
@usableFromInline
struct NodeTable<Element: TensorElement>: Sendable {
    @usableFromInline var names: [String?] = []
    @usableFromInline var ops: [Op] = []
    @usableFromInline var parentStart: [Int] = [0]
    @usableFromInline var parentList: [NodeID] = []
    /// Leaf values: the value of a constant or parameter, the default of an input.
    @usableFromInline var values: [Tensor<Element>?] = []
    /// The declared shape of a leaf without a value.
    @usableFromInline var declaredShapes: [Shape?] = []

    @usableFromInline var count: Int { ops.count }

    @inlinable @discardableResult
    mutating func append(
        name: String?, op: Op, parents: [NodeID], value: Tensor<Element>? = nil, shape: Shape? = nil
    ) -> NodeID {
        names.append(name)
        ops.append(op)
        parentList.append(contentsOf: parents)
        parentStart.append(parentList.count)
        values.append(value)
        declaredShapes.append(shape)
        return ops.count - 1
    }

    func parents(_ i: NodeID) -> ArraySlice<NodeID> {
        parentList[parentStart[i]..<parentStart[i + 1]]
    }

    /// Replaces the parents of a node by as many new ones.
    mutating func replaceParents(of i: NodeID, with parents: [NodeID]) {
        precondition(parents.count == parentStart[i + 1] - parentStart[i])
        for (k, p) in parents.enumerated() { parentList[parentStart[i] + k] = p }
    }

    /// The name, or `op#id` for an unnamed node.
    func displayName(_ i: NodeID) -> String {
        names[i] ?? "\(ops[i].name)#\(i)"
    }
}
