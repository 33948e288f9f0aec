import Foundation

/// The vector instruction set the kernels run on, chosen once per process
/// from the CPU: the best one it supports, or the one `BACKPROP_ISA` names.
///
/// ```swift
/// print(InstructionSet.current)          // avx2
/// print(Runtime.instructionSetDescription)
/// // avx2 (AMD EPYC 7B13; supported: avx2, baseline)
/// ```
///
/// Every path computes the same functions within the published error
/// bounds (`docs/ops.md`); each is bitwise deterministic for any thread
/// count. Paths may differ from one another in the last bits (a fused
/// multiply-add rounds once where the baseline rounds twice), which is why
/// the choice is reported wherever results are: `backprop info`,
/// `bench --json`, ``Runtime/instructionSetDescription``.
public enum InstructionSet: String, Sendable, CaseIterable, Comparable,
    CustomStringConvertible
{
    /// Portable code at the platform's baseline width (SSE2 on x86-64,
    /// what arm64 gets until NEON kernels are added).
    case baseline
    /// AVX2 with FMA: 256-bit vectors.
    case avx2
    /// AVX-512 (F, DQ, BW, VL): 512-bit vectors.
    case avx512

    /// The environment variable that overrides the choice:
    /// `BACKPROP_ISA=avx512|avx2|baseline`.
    public static var environmentVariable: String { "BACKPROP_ISA" }

    /// The instruction set in use in this process.
    public static let current: InstructionSet = selection.chosen

    /// The instruction sets this CPU supports, best first (always
    /// including ``baseline``).
    public static var supported: [InstructionSet] { CPUFeatures.supported }

    /// The choice and how it was made, once per process.
    static let selection = select(
        requested: ProcessInfo.processInfo.environment[environmentVariable],
        supported: CPUFeatures.supported)

    /// The lower-case name, as `BACKPROP_ISA` spells it.
    public var description: String { rawValue }

    public static func < (a: InstructionSet, b: InstructionSet) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Why a `BACKPROP_ISA` value cannot be used.
    public enum SelectionError: Error, Equatable, CustomStringConvertible {
        /// Not one of `avx512`, `avx2`, `baseline`.
        case unknown(String)
        /// A real instruction set this CPU (or OS) does not support.
        case unsupported(InstructionSet, supported: [InstructionSet])

        public var description: String {
            switch self {
            case .unknown(let value):
                "invalid BACKPROP_ISA='\(value)': expected avx512, avx2 or baseline"
            case .unsupported(let set, let supported):
                "BACKPROP_ISA=\(set): this CPU does not support it (supported: "
                    + supported.map(\.rawValue).joined(separator: ", ") + ")"
            }
        }
    }

    /// The outcome of choosing: the set used, and the problem with the
    /// request if there was one (the best supported set is used then).
    struct Selection: Equatable {
        let chosen: InstructionSet
        let problem: SelectionError?
    }

    /// Chooses from a request (the environment's value, or `nil`) and the
    /// supported sets (best first): the request when it is valid and
    /// supported, else the best supported set, with the problem.
    static func select(requested: String?, supported: [InstructionSet]) -> Selection {
        let best = supported.first ?? .baseline
        guard let requested, !requested.isEmpty else {
            return Selection(chosen: best, problem: nil)
        }
        guard let set = InstructionSet(rawValue: requested.lowercased()) else {
            return Selection(chosen: best, problem: .unknown(requested))
        }
        guard supported.contains(set) else {
            return Selection(chosen: best, problem: .unsupported(set, supported: supported))
        }
        return Selection(chosen: set, problem: nil)
    }

    /// Throws when `environment`'s `BACKPROP_ISA` cannot be used as given
    /// (the strict check of the CLI, which exits 2 instead of falling back).
    public static func validate(environment: [String: String]) throws(SelectionError) {
        if let problem = select(requested: environment[environmentVariable], supported: supported)
            .problem
        {
            throw problem
        }
    }
}

extension Runtime {
    /// The instruction set the kernels use, in one line, e.g.
    /// `"avx2 (AMD EPYC 7B13; supported: avx2, baseline)"`, followed by the
    /// problem with `BACKPROP_ISA` when it was ignored.
    public static var instructionSetDescription: String {
        let selection = InstructionSet.selection
        var details: [String] = []
        if let model = CPUFeatures.modelName { details.append(model) }
        details.append(
            "supported: " + InstructionSet.supported.map(\.rawValue).joined(separator: ", "))
        if let value = ProcessInfo.processInfo.environment[InstructionSet.environmentVariable],
            selection.problem == nil, !value.isEmpty
        {
            details.append("\(InstructionSet.environmentVariable)=\(value)")
        }
        let line = "\(selection.chosen) (\(details.joined(separator: "; ")))"
        return selection.problem.map { "\(line); \($0), ignored" } ?? line
    }
}
