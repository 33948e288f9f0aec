import Foundation

/// A tensor with a name: a parameter, or a parameter's optimizer state.
public struct NamedTensor<Element: TensorElement>: Sendable, Equatable {
    /// The parameter's name in the graph.
    public var name: String
    /// Its value.
    public var value: Tensor<Element>

    /// A named tensor.
    public init(name: String, value: Tensor<Element>) {
        self.name = name
        self.value = value
    }
}

/// A training snapshot: every parameter's value and, optionally, the
/// optimizer's state, with a binary encoding that carries a version and a
/// checksum (the format is specified in `docs/training.md`).
///
/// ```swift
/// try execution.checkpoint().write(to: "model.bpck")
/// // … later, with an execution of the same graph:
/// try execution.restore(Checkpoint(contentsOf: "model.bpck"))
/// ```
///
/// Reading checks, in order: the signature, the version, the length, the
/// checksum, the element type, then every field. Restoring checks that the
/// names and shapes match the execution's parameters exactly. Any problem
/// is a ``CheckpointError`` and changes nothing.
public struct Checkpoint<Element: TensorElement>: Sendable, Equatable {
    /// The format version this build writes and reads.
    public static var formatVersion: Int { 1 }

    /// An optimizer's state: its update rule, how many steps it has taken,
    /// and per parameter its state elements (`stateCount` per parameter
    /// element, interleaved: SGD's velocity; Adam's m and v, alternating),
    /// as rank-1 tensors named after their parameter.
    public struct OptimizerState: Sendable, Equatable {
        /// The update rule's name, `"sgd"` or `"adam"` (``Optimizer/name``).
        public var method: String
        /// Steps taken (Adam's t).
        public var stepCount: Int
        /// State elements per parameter element: 1 (SGD) or 2 (Adam).
        public var stateCount: Int
        /// Per parameter with state, in the parameters' order.
        public var tensors: [NamedTensor<Element>]

        /// An optimizer state.
        public init(
            method: String, stepCount: Int, stateCount: Int, tensors: [NamedTensor<Element>]
        ) {
            self.method = method
            self.stepCount = stepCount
            self.stateCount = stateCount
            self.tensors = tensors
        }
    }

    /// The parameters, in the graph's order.
    public var parameters: [NamedTensor<Element>]
    /// The optimizer's state, if saved.
    public var optimizerState: OptimizerState?

    /// A checkpoint of the given parameters (and optimizer state).
    public init(parameters: [NamedTensor<Element>], optimizerState: OptimizerState? = nil) {
        self.parameters = parameters
        self.optimizerState = optimizerState
    }

    /// The parameter named `name`, if present.
    public func parameter(_ name: String) -> Tensor<Element>? {
        parameters.first { $0.name == name }?.value
    }

    // MARK: Files

    /// Reads a checkpoint file.
    ///
    /// - Throws: ``CheckpointError/io(path:message:)``, or what
    ///   ``init(decoding:)`` throws.
    public init(contentsOf path: String) throws(CheckpointError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .io(path: path, message: Self.describe(error))
        }
        try self.init(decoding: [UInt8](data))
    }

    /// Writes the checkpoint to `path`, atomically: the file is written
    /// under a temporary name and renamed, so a crash never leaves half a
    /// checkpoint under `path`.
    ///
    /// - Throws: ``CheckpointError/io(path:message:)``.
    public func write(to path: String) throws(CheckpointError) {
        do {
            try Data(encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .io(path: path, message: Self.describe(error))
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.userInfo[NSUnderlyingErrorKey] {
            if let posix = underlying as? POSIXError {
                return String(cString: strerror(posix.code.rawValue))
            }
        }
        return (error as NSError).localizedDescription
    }

    // MARK: Encoding

    /// The checkpoint's bytes (format version ``formatVersion``; see
    /// `docs/training.md`).
    public func encoded() -> [UInt8] {
        var out = CheckpointWriter()
        out.bytes.append(contentsOf: CheckpointFormat.signature)
        out.append(UInt32(Self.formatVersion))
        out.append(UInt8(CheckpointFormat.code(of: Element.dtype)))
        out.append(UInt8(optimizerState == nil ? 0 : 1))
        out.append(UInt16(0))
        let lengthAt = out.bytes.count
        out.append(UInt64(0))  // the payload length, filled in below
        out.append(UInt32(parameters.count))
        for p in parameters { out.append(p.name, p.value) }
        if let state = optimizerState {
            out.append(UInt8(CheckpointFormat.code(ofMethod: state.method)))
            out.append(UInt8(state.stateCount))
            out.append(UInt16(0))
            out.append(UInt32(state.tensors.count))
            out.append(UInt64(state.stepCount))
            for t in state.tensors { out.append(t.name, t.value) }
        }
        out.set(UInt64(out.bytes.count - CheckpointFormat.headerSize), at: lengthAt)
        out.append(FNV1a64.hash(out.bytes))
        return out.bytes
    }

    /// Decodes a checkpoint.
    ///
    /// - Throws: ``CheckpointError/notACheckpoint``,
    ///   ``CheckpointError/unsupportedVersion(found:supported:)``,
    ///   ``CheckpointError/truncated(expectedBytes:actualBytes:)``,
    ///   ``CheckpointError/checksumMismatch(stored:computed:)``,
    ///   ``CheckpointError/dtypeMismatch(expected:found:)``,
    ///   ``CheckpointError/malformed(_:)``.
    public init(decoding bytes: [UInt8]) throws(CheckpointError) {
        let signature = CheckpointFormat.signature
        guard bytes.count >= signature.count, Array(bytes[0..<signature.count]) == signature else {
            throw .notACheckpoint
        }
        let header = CheckpointFormat.headerSize
        guard bytes.count >= header else {
            throw .truncated(expectedBytes: header, actualBytes: bytes.count)
        }
        var reader = CheckpointReader(bytes: bytes, position: signature.count, end: header)
        let version = Int(try reader.read(UInt32.self))
        guard version == Self.formatVersion else {
            throw .unsupportedVersion(found: version, supported: Self.formatVersion)
        }
        let dtypeCode = try reader.read(UInt8.self)
        let flags = try reader.read(UInt8.self)
        let reserved = try reader.read(UInt16.self)
        let length = try reader.read(UInt64.self)
        guard length <= UInt64(Int.max - header - 8) else {
            throw .malformed("payload length \(length) is too large")
        }
        let total = header + Int(length) + 8
        guard bytes.count >= total else {
            throw .truncated(expectedBytes: total, actualBytes: bytes.count)
        }
        guard bytes.count == total else {
            let extra = bytes.count - total
            throw .malformed("\(extra) byte\(extra == 1 ? "" : "s") after the checksum")
        }
        var trailer = CheckpointReader(bytes: bytes, position: total - 8, end: total)
        let stored = try trailer.read(UInt64.self)
        let computed = FNV1a64.hash(bytes[0..<(total - 8)])
        guard stored == computed else {
            throw .checksumMismatch(stored: stored, computed: computed)
        }

        guard let dtype = CheckpointFormat.dtype(code: dtypeCode) else {
            throw .malformed("unknown element type code \(dtypeCode)")
        }
        guard dtype == Element.dtype else {
            throw .dtypeMismatch(expected: Element.dtype, found: dtype)
        }
        guard flags & ~1 == 0, reserved == 0 else {
            throw .malformed("reserved header bits are set")
        }

        reader = CheckpointReader(bytes: bytes, position: header, end: total - 8)
        let count = Int(try reader.read(UInt32.self))
        var parameters: [NamedTensor<Element>] = []
        var names = Set<String>()
        for _ in 0..<count {
            let p: NamedTensor<Element> = try reader.readTensor()
            guard names.insert(p.name).inserted else {
                throw .malformed("parameter '\(p.name)' appears twice")
            }
            parameters.append(p)
        }
        var state: OptimizerState?
        if flags & 1 != 0 {
            let methodCode = try reader.read(UInt8.self)
            guard let method = CheckpointFormat.method(code: methodCode) else {
                throw .malformed("unknown optimizer code \(methodCode)")
            }
            let stateCount = Int(try reader.read(UInt8.self))
            guard try reader.read(UInt16.self) == 0 else {
                throw .malformed("reserved optimizer bits are set")
            }
            let tensorCount = Int(try reader.read(UInt32.self))
            let steps = try reader.read(UInt64.self)
            guard steps <= UInt64(Int.max) else {
                throw .malformed("step count \(steps) is too large")
            }
            guard stateCount == (method == "adam" ? 2 : 1) else {
                throw .malformed("\(method) state with \(stateCount) values per element")
            }
            var tensors: [NamedTensor<Element>] = []
            var stateNames = Set<String>()
            for _ in 0..<tensorCount {
                let t: NamedTensor<Element> = try reader.readTensor()
                guard let p = parameters.first(where: { $0.name == t.name }),
                    stateNames.insert(t.name).inserted
                else {
                    throw .malformed(
                        "optimizer state '\(t.name)' has no parameter or appears twice")
                }
                guard t.value.shape == [p.value.count * stateCount] else {
                    throw .malformed(
                        "optimizer state '\(t.name)' has shape \(t.value.shape), expected "
                            + "[\(p.value.count * stateCount)]")
                }
                tensors.append(t)
            }
            state = OptimizerState(
                method: method, stepCount: Int(steps), stateCount: stateCount, tensors: tensors)
        }
        guard reader.position == reader.end else {
            throw .malformed("\(reader.end - reader.position) unread bytes in the payload")
        }
        self.init(parameters: parameters, optimizerState: state)
    }
}

/// The constants of the checkpoint format (version 1).
enum CheckpointFormat {
    /// 0x89 "BPCK" CR LF 0x1A: a non-ASCII first byte, and the line-ending
    /// bytes a text-mode transfer would mangle.
    static let signature: [UInt8] = [0x89, 0x42, 0x50, 0x43, 0x4B, 0x0D, 0x0A, 0x1A]
    /// Signature, version, element type, flags, reserved, payload length.
    static let headerSize = 24

    static func code(of dtype: DType) -> Int { dtype == .float32 ? 1 : 2 }

    static func dtype(code: UInt8) -> DType? {
        switch code {
        case 1: .float32
        case 2: .float64
        default: nil
        }
    }

    static func code(ofMethod name: String) -> Int { name == "adam" ? 2 : 1 }

    static func method(code: UInt8) -> String? {
        switch code {
        case 1: "sgd"
        case 2: "adam"
        default: nil
        }
    }
}

/// FNV-1a, 64 bits: offset basis 0xcbf29ce484222325, prime 0x100000001b3,
/// one byte at a time (xor, then multiply).
enum FNV1a64 {
    static func hash<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let result: UInt64? = bytes.withContiguousStorageIfAvailable { buffer in
            var h = h
            for byte in buffer { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            return h
        }
        if let result { return result }
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}

/// Appends little-endian fields to a byte array.
struct CheckpointWriter {
    var bytes: [UInt8] = []

    mutating func append<I: FixedWidthInteger>(_ value: I) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Overwrites the `UInt64` at `offset`.
    mutating func set(_ value: UInt64, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for k in 0..<8 { bytes[offset + k] = raw[k] }
        }
    }

    /// A tensor record: name length and UTF-8 name, rank, dimensions, then
    /// the elements (IEEE 754, little-endian, row-major).
    mutating func append<T: TensorElement>(_ name: String, _ value: Tensor<T>) {
        let utf8 = Array(name.utf8)
        append(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
        append(UInt8(value.shape.rank))
        for d in value.shape.dimensions { append(UInt64(d)) }
        value.scalars.withUnsafeBytes { raw in
            #if _endian(little)
                bytes.append(contentsOf: raw)
            #else
                let size = MemoryLayout<T>.size
                for e in 0..<value.count {
                    for k in (0..<size).reversed() { bytes.append(raw[e * size + k]) }
                }
            #endif
        }
    }
}

/// Reads little-endian fields from `bytes[position..<end]`; reading past
/// `end` is a ``CheckpointError/malformed(_:)`` (the length was checked,
/// so the payload disagrees with itself).
struct CheckpointReader {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    private mutating func take(_ count: Int, _ what: @autoclosure () -> String)
        throws(CheckpointError)
        -> Range<Int>
    {
        guard count >= 0, count <= end - position else {
            throw .malformed("\(what()) runs past the end of the payload")
        }
        defer { position += count }
        return position..<(position + count)
    }

    mutating func read<I: FixedWidthInteger>(_: I.Type) throws(CheckpointError) -> I {
        let range = try take(MemoryLayout<I>.size, "a field")
        var value: I = 0
        withUnsafeMutableBytes(of: &value) { raw in
            for (k, i) in range.enumerated() { raw[k] = bytes[i] }
        }
        return I(littleEndian: value)
    }

    mutating func readTensor<T: TensorElement>() throws(CheckpointError) -> NamedTensor<T> {
        let nameLength = Int(try read(UInt32.self))
        let nameRange = try take(nameLength, "a name")
        guard let name = String(validating: bytes[nameRange], as: UTF8.self) else {
            throw .malformed("a name is not valid UTF-8")
        }
        let rank = Int(try read(UInt8.self))
        guard rank <= Shape.maxRank else {
            throw .malformed("'\(name)' has rank \(rank), at most \(Shape.maxRank) is supported")
        }
        var dimensions: [Int] = []
        var count = 1
        for _ in 0..<rank {
            let d = try read(UInt64.self)
            guard d >= 1, d <= UInt64(Int.max) else {
                throw .malformed("'\(name)' has a dimension of \(d)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { throw .malformed("'\(name)' has too many elements") }
            dimensions.append(Int(d))
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
        guard !overflow else { throw .malformed("'\(name)' has too many elements") }
        let data = try take(byteCount, "'\(name)'")
        var scalars = [T](repeating: 0, count: count)
        scalars.withUnsafeMutableBytes { raw in
            bytes.withUnsafeBytes { source in
                #if _endian(little)
                    raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[data]))
                #else
                    let size = MemoryLayout<T>.size
                    for e in 0..<count {
                        for k in 0..<size {
                            raw[e * size + k] = source[data.lowerBound + e * size + size - 1 - k]
                        }
                    }
                #endif
            }
        }
        return NamedTensor(
            name: name, value: Tensor(uncheckedShape: Shape(dimensions), scalars: scalars))
    }
}
