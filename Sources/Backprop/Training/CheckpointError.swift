/// Why a checkpoint could not be read, written or restored. Every problem
/// is reported before anything is changed: a checkpoint is restored whole
/// or not at all, never into silently wrong weights.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read or written.
    case io(path: String, message: String)
    /// The bytes do not start with the checkpoint signature.
    case notACheckpoint
    /// A format version this build does not read.
    case unsupportedVersion(found: Int, supported: Int)
    /// Fewer bytes than the header says the checkpoint has.
    case truncated(expectedBytes: Int, actualBytes: Int)
    /// The FNV-1a 64 checksum over header and payload does not match the
    /// stored one: the bytes were changed after they were written.
    case checksumMismatch(stored: UInt64, computed: UInt64)
    /// The checkpoint holds another element type than the one asked for.
    case dtypeMismatch(expected: DType, found: DType)
    /// The bytes pass the checksum but break the format (a bad rank, a
    /// name that is not UTF-8, trailing bytes, …): written by something else.
    case malformed(String)
    /// The execution has a parameter the checkpoint lacks.
    case missingParameter(String)
    /// The checkpoint has a parameter the execution lacks.
    case unexpectedParameter(String)
    /// A parameter (or its optimizer state) has another shape in the
    /// checkpoint than in the execution.
    case shapeMismatch(parameter: String, expected: Shape, found: Shape)
    /// The checkpoint's optimizer state is for another update rule than the
    /// execution's optimizer.
    case optimizerMismatch(expected: String, found: String)

    public var description: String {
        switch self {
        case .io(let path, let message): "\(path): \(message)"
        case .notACheckpoint: "not a Backprop checkpoint (bad signature)"
        case .unsupportedVersion(let found, let supported):
            "checkpoint format version \(found) is not supported (this build reads version \(supported))"
        case .truncated(let expected, let actual):
            "checkpoint is truncated: \(actual) bytes, expected \(expected)"
        case .checksumMismatch(let stored, let computed):
            "checkpoint is corrupt: checksum \(hex(computed)) does not match the stored \(hex(stored))"
        case .dtypeMismatch(let expected, let found):
            "checkpoint holds \(found) values, expected \(expected)"
        case .malformed(let message): "malformed checkpoint: \(message)"
        case .missingParameter(let name): "checkpoint has no parameter '\(name)'"
        case .unexpectedParameter(let name):
            "checkpoint has a parameter '\(name)' that the graph does not have"
        case .shapeMismatch(let name, let expected, let found):
            "checkpoint parameter '\(name)' has shape \(found), the graph's has shape \(expected)"
        case .optimizerMismatch(let expected, let found):
            "checkpoint holds \(found) optimizer state, the plan's optimizer is \(expected)"
        }
    }

    private func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}
