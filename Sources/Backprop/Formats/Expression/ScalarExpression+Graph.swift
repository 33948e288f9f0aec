// Lowering a ScalarExpression to a Graph: one scalar node per operation.
//
// Note [Powers in expressions]
// The catalog's `pow` op takes a constant exponent (an attribute). So
// `a ^ b` lowers to `pow(a, c)` whenever b contains no variable: c is b
// evaluated once, in Double, with the same scalar functions the kernels
// use (`x^2`, `x^-0.5`, `x^(1/3)`, `x^(2*3)` all qualify). An exponent
// that depends on a variable lowers to exp(b · log a), whose gradient
// is right for a > 0; for a ≤ 0 log a is NaN (or −inf), and so is the
// result, where the real power may be defined (x^y at x = −2, y = 2).
// Write constant exponents where you can.

extension ScalarExpression {
    /// The graph computing this expression, with one `input` node per
    /// variable holding the value given for it.
    ///
    /// Input nodes are named after the variables and created in order of
    /// first appearance, so ``Graph/inputs`` follows ``variables``. Numbers
    /// become `constant` nodes; `-a` is `neg`; `+ - * /` are the binary
    /// ops; functions are the unary ops of the same name. `a ^ b` is the
    /// `pow` op when `b` is constant, else `exp(b * log(a))` (see
    /// `// Note [Powers in expressions]`).
    ///
    /// ```swift
    /// let f = try ScalarExpression.parse("log(exp(2*x^3 + 10))")
    /// let result = try ReferenceExecutor().gradients(f.graph(at: ["x": 42]))
    /// result.gradients["x"]    // 10584.0: the simplifier removed log(exp(u))
    /// ```
    ///
    /// - Parameters:
    ///   - values: A value for every variable, and for nothing else.
    ///   - simplify: Whether to apply the simplifier's rewrites
    ///     (``GraphBuilder/build(output:simplify:)``).
    /// - Returns: A graph with a scalar output.
    /// - Throws: ``ExpressionError/missingValue(variable:)`` for a variable
    ///   without a value (the first, in order of appearance), then
    ///   ``ExpressionError/unknownVariable(_:)`` for a value whose name is
    ///   not a variable (the first, in sorted order).
    public func graph(at values: [String: Double], simplify: Bool = true) throws(ExpressionError)
        -> Graph<Double>
    {
        if let missing = variables.first(where: { values[$0] == nil }) {
            throw .missingValue(variable: missing)
        }
        let known = Set(variables)
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw .unknownVariable(unknown)
        }

        let constants = constantValues()
        // Which subexpressions the graph needs: not the insides of constant
        // exponents, which become an attribute.
        var needed = [Bool](repeating: false, count: subexpressions.count)
        needed[root] = true
        for i in subexpressions.indices.reversed() where needed[i] {
            switch subexpressions[i] {
            case .number, .variable: break
            case .negation(let a), .function(_, let a): needed[a] = true
            case .binary(.power, let a, let b):
                needed[a] = true
                if constants[b] == nil { needed[b] = true }
            case .binary(_, let a, let b):
                needed[a] = true
                needed[b] = true
            }
        }

        let builder = GraphBuilder<Double>()
        var inputs: [String: Node<Double>] = [:]
        var nodes: [Node<Double>?] = Array(repeating: nil, count: subexpressions.count)
        for (i, subexpression) in subexpressions.enumerated() where needed[i] {
            switch subexpression {
            case .number(let value):
                nodes[i] = builder.constant(Tensor(value))
            case .variable(let name):
                if inputs[name] == nil { inputs[name] = builder.input(name, Tensor(values[name]!)) }
                nodes[i] = inputs[name]
            case .negation(let a):
                nodes[i] = -nodes[a]!
            case .function(let f, let a):
                nodes[i] = builder.apply(.unary(f.unary), [nodes[a]!])
            case .binary(let op, let a, let b):
                let x = nodes[a]!
                switch op {
                case .add: nodes[i] = x + nodes[b]!
                case .subtract: nodes[i] = x - nodes[b]!
                case .multiply: nodes[i] = x * nodes[b]!
                case .divide: nodes[i] = x / nodes[b]!
                case .power:
                    if let exponent = constants[b] {
                        nodes[i] = x.pow(exponent)
                    } else {
                        nodes[i] = exp(nodes[b]! * log(x))
                    }
                }
            }
        }
        do {
            return try builder.build(output: nodes[root]!, simplify: simplify)
        } catch {
            // Every node is a scalar op on scalars with unique input names.
            preconditionFailure("an expression always builds a valid graph: \(error)")
        }
    }

    /// The value of every subexpression that contains no variable, in
    /// Double, computed with the kernels' scalar functions; `nil` for the
    /// others.
    func constantValues() -> [Double?] {
        var values: [Double?] = []
        values.reserveCapacity(subexpressions.count)
        for subexpression in subexpressions {
            switch subexpression {
            case .number(let value):
                values.append(value)
            case .variable:
                values.append(nil)
            case .negation(let a):
                values.append(values[a].map { UnaryFunction.neg.apply($0) })
            case .function(let f, let a):
                values.append(values[a].map { f.unary.apply($0) })
            case .binary(let op, let a, let b):
                guard let x = values[a], let y = values[b] else {
                    values.append(nil)
                    continue
                }
                switch op {
                case .add: values.append(x + y)
                case .subtract: values.append(x - y)
                case .multiply: values.append(x * y)
                case .divide: values.append(x / y)
                case .power: values.append(UnaryFunction.pow(y).apply(x))
                }
            }
        }
        return values
    }
}
