import Backprop
import Foundation

/// A runtime with `threads` workers (the default when `nil`), configured
/// strictly from `environment`: an invalid `BACKPROP_ISA`, `BACKPROP_BLAS`,
/// `BACKPROP_NUMA` or `BACKPROP_NUMA_TOPOLOGY` is bad input (exit status 2), not ignored.
func configuredRuntime(
    threads: Int?, environment: [String: String] = ProcessInfo.processInfo.environment
) throws(CLIFailure) -> Runtime {
    do throws(InstructionSet.SelectionError) {
        try InstructionSet.validate(environment: environment)
    } catch {
        throw .badInput(error.description)
    }
    if environment["BACKPROP_HOT_WINDOW_US"] != nil
        && Runtime.hotWindow(environment: environment) == nil
    {
        throw .badInput(
            "invalid BACKPROP_HOT_WINDOW_US=\(environment["BACKPROP_HOT_WINDOW_US"]!): "
                + "expected microseconds from 0 to 1000000000")
    }
    if let blas = environment["BACKPROP_BLAS"], !Runtime.isValidBLASSetting(blas) {
        throw .badInput("invalid BACKPROP_BLAS=\(blas): expected on or off")
    }
    do {
        return try Runtime.configured(
            threads: threads,
            hotWindow: Runtime.hotWindow(environment: environment) ?? Runtime.defaultHotWindow,
            environment: environment)
    } catch .invalidTopology(let message) {
        let value = environment["BACKPROP_NUMA_TOPOLOGY"] ?? ""
        throw .badInput("invalid BACKPROP_NUMA_TOPOLOGY='\(value)': \(message)")
    } catch {
        throw .badInput(error.description)
    }
}
