// The lecture's examples, run through Backprop's reference executor:
//   swift run -c release lecture
import Backprop

// f(x, y) = (x + y)·x·y² at (1, 2): value 12, gradient (16, 16).
let b = GraphBuilder<Double>()
let x = b.input("x", 1.0)
let y = b.input("y", 2.0)
let f = (x + y) * x * y.pow(2)
let result = try ReferenceExecutor().gradients(b.build(output: f))
print("f(1, 2) = \(result.output)")
print("df/dx = \(result[x]!), df/dy = \(result[y]!)")
