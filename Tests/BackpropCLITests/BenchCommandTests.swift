import Foundation
import Testing

/// `backprop bench`, as a process: JSON Lines with the documented keys and
/// the workloads' check values; bad input is status 2.
@Suite struct BenchCommandTests {
    @Test func jsonLinesPerWorkloadAndThreadCount() throws {
        let r = try CLI.run(
            "bench", "wavefront", "S1", "--quick", "--repetitions", "2", "--threads", "1,2",
            "--json")
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(r)")
        var seen: [(String, Int)] = []
        for line in lines {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let workload = try #require(object["workload"] as? String)
            let threads = try #require(object["threads"] as? Int)
            seen.append((workload, threads))
            let median = try #require(object["median_ms"] as? Double)
            let low = try #require(object["min_ms"] as? Double)
            let high = try #require(object["max_ms"] as? Double)
            #expect(low <= median && median <= high)
            #expect((object["ns_per_node"] as? Double ?? 0) > 0)
            let check = try #require(object["check"] as? [String: Double])
            if workload == "S1" {
                // The workload notes' reference values for N = 10^4.
                #expect(abs(check["omega"]! - -5.1645323464801249) < 1e-12)
                #expect(abs(check["grad_sum"]! - 40.120774106251524) < 1e-12)
                #expect(object["eager_ns_per_node"] is Double)
            } else {
                #expect(check["omega"] == 0.015625)
            }
        }
        #expect(seen.map(\.0) == ["wavefront", "wavefront", "S1", "S1"])
        #expect(seen.map(\.1) == [1, 2, 1, 2])
    }

    /// S5: µs per step over 24-step epochs, and the same final loss at
    /// 1 and 2 threads — the one the NumPy peer computes, to float32 rounding.
    @Test func smallMLPReportsMicrosecondsPerStep() throws {
        let r = try CLI.run(
            "bench", "S5", "--quick", "--repetitions", "2", "--threads", "1,2", "--json")
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(r)")
        var losses: [Double] = []
        for (line, threads) in zip(lines, [1, 2]) {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["workload"] as? String == "S5")
            #expect(object["threads"] as? Int == threads)
            #expect(object["steps"] as? Int == 24)
            let median = try #require(object["median_ms"] as? Double)
            let perStep = try #require(object["us_per_step"] as? Double)
            #expect(abs(perStep - median * 1000 / 24) <= 1e-9 * perStep)
            let check = try #require(object["check"] as? [String: Double])
            losses.append(try #require(check["final_loss"]))
        }
        #expect(losses.count == 2 && losses[0] == losses[1])
        // Benchmarks/peers/peer_numpy.py --workloads S5 prints 1.1050493915875752.
        #expect(abs(losses[0] - 1.1050493915875752) < 1e-6)
    }

    @Test(arguments: [
        (["bench", "bogus"], "error: unknown workload 'bogus'"),
        (["bench", "--threads", "0"], "error: --threads: '0' is not a list"),
        (["bench", "--repetitions", "0"], "error: --repetitions must be from 1"),
    ])
    func badInput(arguments: [String], prefix: String) throws {
        let r = try CLI.run(arguments)
        #expect(r.status == 2, "\(r)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix(prefix) && r.stderr.split(separator: "\n").count == 1, "\(r)")
    }

    /// OpenBLAS starts no thread pool (Note [No OpenBLAS pool]): after a
    /// 1-thread S2, whose products go to OpenBLAS when it is installed, the
    /// process has one thread. A pool the user asks for does show.
    @Test func noBLASThreadPool() throws {
        func run(_ environment: [String: String]) throws -> (blas: Bool, threads: Int) {
            let r = try CLI.run(
                ["bench", "S2", "--quick", "--threads", "1", "--repetitions", "1", "--json"],
                environment: environment)
            #expect(r.status == 0, "\(r)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            #expect(object["isa"] as? String != nil)
            return (
                try #require(object["blas"] as? Bool),
                try #require(object["process_threads"] as? Int)
            )
        }
        let plain = try run([:])
        #expect(plain.threads == 1, "blas: \(plain.blas)")
        if plain.blas {
            #expect(try run(["OPENBLAS_NUM_THREADS": "2"]).threads == 2)
        }
    }

    /// `bench kernels`: every elementwise function forward and with its
    /// VJP, in both element types, beside a copy; S2's products, with and
    /// without OpenBLAS where it is installed; positive figures.
    @Test func kernels() throws {
        let r = try CLI.run(
            ["bench", "kernels", "--quick", "--threads", "1", "--repetitions", "1", "--json"])
        #expect(r.status == 0, "\(r)")
        let rows = try r.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let functions = ["exp", "log", "tanh", "sigmoid", "sin", "cos", "sqrt", "pow 1.7"]
        for dtype in ["float32", "float64"] {
            let elementwise = rows.filter {
                $0["dtype"] as? String == dtype && $0["elements_per_second"] != nil
            }
            let seen = Set(elementwise.map { "\($0["kernel"]!) \($0["pass"]!)" })
            let expected = Set(
                ["copy forward"] + functions.flatMap { ["\($0) forward", "\($0) forward+vjp"] })
            #expect(seen == expected, "\(dtype)")
            #expect(elementwise.allSatisfy { ($0["elements_per_second"] as! Double) > 0 })
            #expect(
                elementwise.filter { $0["pass"] as? String == "forward" }.allSatisfy {
                    ($0["copy_fraction"] as? Double ?? 0) > 0
                })
        }
        let products = rows.filter { $0["gflops"] != nil }
        #expect(Set(products.map { $0["kernel"] as! String }).count == 3)
        #expect(products.allSatisfy { ($0["gflops"] as! Double) > 0 && $0["blas"] is Bool })
        #expect(products.contains { $0["blas"] as? Bool == false })
        #expect(rows.allSatisfy { $0["workload"] as? String == "kernels" && $0["isa"] is String })
        #expect(rows.count == 2 * (1 + 2 * functions.count) + products.count)
    }
}
