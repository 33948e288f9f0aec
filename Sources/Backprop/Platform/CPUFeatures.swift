import CKernels
import Foundation

/// What this machine's CPU offers the kernels: the vector instruction sets
/// it and the OS support (cpuid and xgetbv, in `CKernels`), and its model
/// name for reports.
enum CPUFeatures {
    /// The instruction sets usable here, best first; always ends with
    /// ``InstructionSet/baseline``.
    static let supported: [InstructionSet] = {
        let bits = ck_isa_support()
        var sets: [InstructionSet] = []
        if bits & Int32(CK_ISA_AVX512) != 0 { sets.append(.avx512) }
        if bits & Int32(CK_ISA_AVX2_FMA) != 0 { sets.append(.avx2) }
        return sets + [.baseline]
    }()

    /// The CPU's model name (`/proc/cpuinfo`'s first "model name"), or
    /// `nil` where it cannot be read.
    static let modelName: String? = {
        #if os(Linux)
            guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
                return nil
            }
            for line in text.split(separator: "\n") where line.hasPrefix("model name") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return nil
        #else
            return nil
        #endif
    }()
}
