import Backprop

/// A 64-bit FNV-1a hash of the bits of a run's results, in a fixed order.
///
/// A stress run folds every checked graph's output and gradients (by input
/// name) into one digest, so two builds — before and after a refactoring,
/// or on two machines with the same kernels — can be compared with one
/// number: the same seed and graph count give the same digest exactly when
/// every result has the same bits.
public struct ResultDigest: Sendable, Equatable {
    /// The hash so far.
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    /// An empty digest (FNV-1a's offset basis).
    public init() {}

    /// Folds in a tensor's shape and the bytes of its elements.
    public mutating func add<T: TensorElement>(_ tensor: Tensor<T>) {
        for extent in tensor.shape.dimensions { add(UInt64(extent)) }
        tensor.scalars.withUnsafeBytes { add(bytes: $0) }
    }

    /// Folds in a string's UTF-8 bytes.
    public mutating func add(_ string: String) {
        var copy = string
        copy.withUTF8 { add(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Folds in another digest or a count.
    public mutating func add(_ word: UInt64) {
        withUnsafeBytes(of: word.littleEndian) { add(bytes: $0) }
    }

    private mutating func add(bytes: UnsafeRawBufferPointer) {
        var h = value
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        value = h
    }

    /// The value as 16 hexadecimal digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
