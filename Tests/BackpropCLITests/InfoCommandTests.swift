import Foundation
import Testing

/// `backprop info`: the fields, the environment it honours, and a bad
/// NUMA setting as an error.
@Suite struct InfoCommandTests {
    @Test func textFields() throws {
        let r = try CLI.run("info")
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr == "")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count >= 7, "\(r)")
        guard lines.count >= 7 else { return }
        #expect(lines[0] == "version: 0.1.0")
        #expect(lines[1].hasPrefix("threads: ") && Int(lines[1].dropFirst(9))! >= 1)
        #expect(
            ["ISA: avx512 (", "ISA: avx2 (", "ISA: baseline ("].contains { lines[2].hasPrefix($0) })
        #expect(lines[2].contains("supported: ") && lines[2].hasSuffix("baseline)"))
        #expect(lines[3].hasPrefix("BLAS: "))
        #expect(lines[4].hasPrefix("NUMA: "))
        #expect(lines[5].hasPrefix("  libnuma: found") || lines[5].hasPrefix("  libnuma: not"))
        #expect(lines[6].hasPrefix("  node "))
    }

    @Test func environmentIsHonoured() throws {
        let r = try CLI.run(
            "info",
            environment: [
                "BACKPROP_THREADS": "3", "BACKPROP_BLAS": "off",
                "BACKPROP_NUMA_TOPOLOGY": "0:0-1;1:2-3", "BACKPROP_ISA": "baseline",
            ])
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 8, "\(r)")
        guard lines.count == 8 else { return }
        #expect(lines[1] == "threads: 3")
        #expect(
            lines[2].hasPrefix("ISA: baseline (") && lines[2].hasSuffix("; BACKPROP_ISA=baseline)"))
        #expect(lines[3] == "BLAS: disabled by BACKPROP_BLAS=off; matrix products: own kernel")
        #expect(lines[4] == "NUMA: simulated 2 nodes (BACKPROP_NUMA_TOPOLOGY=0:0-1;1:2-3)")
        #expect(lines[6] == "  node 0: CPUs 0-1")
        #expect(lines[7] == "  node 1: CPUs 2-3")

        let off = try CLI.run("info", environment: ["BACKPROP_NUMA": "off"])
        #expect(off.stdout.contains("\n  libnuma: not loaded (disabled by BACKPROP_NUMA=off)\n"))
    }

    /// Matrix products run the own kernel unless `BACKPROP_BLAS=on` (Note
    /// [Own kernel by default]); with it, OpenBLAS where it is installed.
    @Test func blasSetting() throws {
        let plain = try CLI.run("info", "--json")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
        let blas = try #require(object["blas"] as? [String: Any])
        #expect(blas["usedByDefault"] as? Bool == false)
        #expect(blas["matrixProducts"] as? String == "own kernel")
        let found = try #require(blas["found"] as? Bool)
        let on = try CLI.run("info", environment: ["BACKPROP_BLAS": "on"])
        #expect(on.status == 0, "\(on)")
        let line = on.stdout.split(separator: "\n").map(String.init).first {
            $0.hasPrefix("BLAS: ")
        }
        #expect(
            line?.hasSuffix(
                found
                    ? "; matrix products: OpenBLAS (BACKPROP_BLAS=on)"
                    : "; matrix products: own kernel (BACKPROP_BLAS=on, but OpenBLAS not found)")
                == true, "\(on)")
    }

    /// An unknown `BACKPROP_ISA`, or one this CPU lacks, is bad input for
    /// every command that runs graphs: exit 2, one `error:` line.
    @Test func badInstructionSetExits2() throws {
        let supported = try CLI.run("info", "--json")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(supported.stdout.utf8)) as? [String: Any])
        let isa = try #require(object["isa"] as? [String: Any])
        let names = try #require(isa["supported"] as? [String])
        #expect(names.last == "baseline" && names.contains(isa["name"] as! String))
        for command in [["info"], ["bench", "--quick", "S1"], ["stress", "--iterations", "1"]] {
            let r = try CLI.run(command, environment: ["BACKPROP_ISA": "sse9"])
            #expect(r.status == 2, "\(command): \(r)")
            #expect(
                r.stderr
                    == "error: invalid BACKPROP_ISA='sse9': expected avx512, avx2 or baseline\n",
                "\(command): \(r)")
            #expect(r.stdout == "")
        }
        if let missing = ["avx512", "avx2"].first(where: { !names.contains($0) }) {
            let r = try CLI.run("info", environment: ["BACKPROP_ISA": missing])
            #expect(r.status == 2)
            #expect(
                r.stderr
                    == "error: BACKPROP_ISA=\(missing): this CPU does not support it (supported: \(names.joined(separator: ", ")))\n"
            )
        }
    }

    /// A graph file whose elementwise levels split into several tasks.
    static func wideGraphFile() throws -> URL {
        let n = 1 << 16
        let values = (0..<n).map { "\(Double($0 % 7) / 10)" }.joined(separator: ",")
        let text = """
            {"format": "backprop-graph", "version": 1, "dtype": "float64", "nodes": [
              {"name": "x", "op": "input", "shape": [\(n)], "value": [\(values)]},
              {"name": "w", "op": "parameter", "shape": [\(n)], "value": [\(values)]},
              {"name": "m", "op": "mul", "inputs": ["x", "w"]},
              {"name": "t", "op": "tanh", "inputs": ["m"]},
              {"name": "u", "op": "sin", "inputs": ["t"]},
              {"name": "s", "op": "sum", "inputs": ["u"]}
            ], "output": "s"}
            """
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "backprop-info-\(UUID().uuidString).json")
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test func placementOfAGraphFile() throws {
        let file = try Self.wideGraphFile()
        defer { try? FileManager.default.removeItem(at: file) }
        let two = ["BACKPROP_NUMA_TOPOLOGY": "0:0;1:1"]
        let r = try CLI.run("info", file.path, environment: two)
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let placement = try #require(lines.firstIndex(of: "placement:"), "\(r)")
        let rest = lines[(placement + 1)...]
        #expect(rest.contains { $0.hasPrefix("  node 0: values ") }, "\(r)")
        #expect(rest.contains { $0.hasPrefix("  node 1: values ") }, "\(r)")
        #expect(rest.contains { $0.hasPrefix("  interleaved: parameters 1 MiB") }, "\(r)")

        let json = try CLI.run("info", file.path, "--json", environment: two)
        let object =
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let places = try #require(object?["placement"] as? [String: [String: Int]], "\(json)")
        #expect(Set(places.keys) == ["node 0", "node 1", "interleaved"])
        #expect((places["interleaved"]?["parameters"] ?? 0) >= 2 * 8 * (1 << 16))
        #expect((places["node 1"]?["values"] ?? 0) > 0)

        // On one node everything is there; a malformed file is bad input.
        let one = try CLI.run("info", file.path, environment: ["BACKPROP_NUMA": "off"])
        #expect(one.stdout.contains("\nplacement:\n  node 0: values "), "\(one)")
        let bad = try CLI.run("info", "/nonexistent/graph.json")
        #expect(bad.status == 2, "\(bad)")
        #expect(bad.stderr.hasPrefix("error: cannot read '/nonexistent/graph.json'"), "\(bad)")
    }

    @Test func json() throws {
        let r = try CLI.run(
            "info", "--json",
            environment: [
                "BACKPROP_THREADS": "4", "BACKPROP_BLAS": "off",
                "BACKPROP_NUMA_TOPOLOGY": "0:0;1:1", "BACKPROP_ISA": "baseline",
            ])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.split(separator: "\n").count == 1)
        let prefix =
            #"{"version": "0.1.0", "threads": 4, "isa": {"name": "baseline", "supported": ["#
        #expect(r.stdout.hasPrefix(prefix), "\(r)")
        // The supported list and the CPU's name depend on the machine.
        #expect(r.stdout.contains(#"baseline"], "description": "baseline ("#), "\(r)")
        let rest =
            #"; BACKPROP_ISA=baseline)"}, "blas": {"found": false, "description": "disabled by BACKPROP_BLAS=off", "usedByDefault": false, "matrixProducts": "own kernel"}, "numa": {"system": "simulated 2 nodes (BACKPROP_NUMA_TOPOLOGY=0:0;1:1)", "libnumaFound": "#
        #expect(r.stdout.contains(rest), "\(r)")
        #expect(
            r.stdout.hasSuffix(
                #""nodes": [{"id": 0, "cpus": [0], "memoryBytes": null}, {"id": 1, "cpus": [1], "memoryBytes": null}]}}"#
                    + "\n"), "\(r)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(object?["threads"] as? Int == 4)
        #expect((object?["numa"] as? [String: Any])?["libnumaFound"] is Bool)
    }

    @Test(arguments: [
        (
            "BACKPROP_NUMA_TOPOLOGY", "bogus",
            #"error: invalid BACKPROP_NUMA_TOPOLOGY='bogus': item 1 "bogus": expected NODE:CPUS, with a ':'"#
        ),
        ("BACKPROP_NUMA", "maybe", "error: invalid BACKPROP_NUMA=maybe: expected on or off"),
        ("BACKPROP_BLAS", "maybe", "error: invalid BACKPROP_BLAS=maybe: expected on or off"),
        (
            "BACKPROP_HOT_WINDOW_US", "-5",
            "error: invalid BACKPROP_HOT_WINDOW_US=-5: expected microseconds from 0 to 1000000000"
        ),
    ])
    func badEnvironmentSettingExits2(variable: String, value: String, line: String) throws {
        for arguments in [["info"], ["info", "--json"]] {
            let r = try CLI.run(arguments, environment: [variable: value])
            #expect(r.status == 2, "\(r)")
            #expect(r.stdout == "")
            #expect(r.stderr == line + "\n")
        }
    }
}
