import Backprop

/// Loads the graph file a command names (`-` for standard input); a file
/// that cannot be read or is malformed is bad input (exit status 2), with
/// the loader's message prefixed by the file name.
func loadGraphFile(_ file: String) throws(CLIFailure) -> AnyGraph {
    do {
        return try GraphFile.load(contentsOf: file == "-" ? "/dev/stdin" : file)
    } catch {
        throw .badInput(error.description(file: file))
    }
}
