// The one file that touches the C BLAS. OpenBLAS is optional: it is loaded
// at run time with dlopen, never linked, so the package builds, runs and
// passes its tests on a machine without it (the kernels then use the
// package's own GEMM through Kernels/Gemm.swift). Like every file with
// `#if os(Linux)` or `dlopen`, it lives in Platform/; on other platforms no
// BLAS is loaded.

import Foundation

#if os(Linux)
    import Glibc
#endif

/// `cblas_sgemm`: order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc.
typealias CBLASSgemm =
    @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32,
        Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
        Float, UnsafeMutablePointer<Float>?, Int32
    ) -> Void

/// `cblas_dgemm`: order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc.
typealias CBLASDgemm =
    @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32,
        Double, UnsafePointer<Double>?, Int32, UnsafePointer<Double>?, Int32,
        Double, UnsafeMutablePointer<Double>?, Int32
    ) -> Void

/// `openblas_set_num_threads(int)`.
typealias OpenBLASSetNumThreads = @convention(c) (Int32) -> Void

/// A loaded BLAS: the resolved entry points of one shared library.
///
/// Values are created once, by ``BLAS/load(environment:)``, and never
/// unloaded (the library handle is deliberately leaked: function pointers
/// out of it live as long as the process). The type holds only immutable
/// C function pointers, so it is safe to share between threads; OpenBLAS's
/// GEMM is reentrant once its own threading is pinned to one thread.
struct BLASLibrary: Sendable {
    /// The file name it was loaded from, e.g. `libopenblas.so.0`.
    let name: String
    let sgemm: CBLASSgemm
    let dgemm: CBLASDgemm

    // CBLAS enumeration values (cblas.h).
    static var rowMajor: Int32 { 101 }
    static var noTranspose: Int32 { 111 }
    static var transpose: Int32 { 112 }

    /// C = op(A)·op(B) (`accumulate`: C += op(A)·op(B)), row-major, through
    /// `cblas_sgemm` or `cblas_dgemm`.
    ///
    /// Arguments as in ``Gemm/multiply(transposeA:transposeB:m:n:k:a:lda:b:ldb:c:ldc:accumulate:useBLAS:)``.
    ///
    /// - Returns: `false`, having done nothing, when `T` is neither `Float`
    ///   nor `Double` or a size does not fit the 32-bit CBLAS interface; the
    ///   caller then computes the product itself.
    func gemm<T: TensorElement>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
    ) -> Bool {
        guard let m32 = Int32(exactly: m), let n32 = Int32(exactly: n),
            let k32 = Int32(exactly: k), let lda32 = Int32(exactly: Swift.max(1, lda)),
            let ldb32 = Int32(exactly: Swift.max(1, ldb)),
            let ldc32 = Int32(exactly: Swift.max(1, ldc))
        else { return false }
        let ta = transposeA ? Self.transpose : Self.noTranspose
        let tb = transposeB ? Self.transpose : Self.noTranspose
        if T.self == Float.self {
            sgemm(
                Self.rowMajor, ta, tb, m32, n32, k32,
                1, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda32,
                UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb32,
                accumulate ? 1 : 0,
                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc32)
            return true
        }
        if T.self == Double.self {
            dgemm(
                Self.rowMajor, ta, tb, m32, n32, k32,
                1, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda32,
                UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb32,
                accumulate ? 1 : 0,
                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc32)
            return true
        }
        return false
    }
}

/// The process's BLAS, if one is present and allowed.
///
/// Note [Own kernel by default]
/// Matrix products run the package's own kernel (`Sources/CKernels/CKGemm.c`)
/// unless a plan asks for OpenBLAS (``PlanOptions/useBLAS``, whose default
/// `BACKPROP_BLAS=on` flips). Measured on AMD EPYC Zen 3 (AVX2, 2 cores),
/// the own kernel runs S2 level with OpenBLAS (8.6 vs 9.0–9.4 ms at one
/// thread, 5.6–6.2 vs 5.5–6.1 at two) and S4 the same; only the largest
/// lone products of `bench kernels` are 1.2–1.35× faster through OpenBLAS
/// at two threads. In exchange, results are bitwise the same whether or not
/// OpenBLAS is installed (on the same instruction-set path), no library is
/// loaded into an embedder's process unasked, and its thread pool never
/// starts (Note [No OpenBLAS pool]). docs/benchmarks.md has the figures.
///
/// OpenBLAS is looked for once, on first use, under the names in
/// ``libraryNames``; after loading, its own thread pool is pinned to one
/// thread (`openblas_set_num_threads(1)`) so that it does not compete with
/// the runtime's workers: parallelism comes from the runtime splitting a
/// matrix product into row ranges. (OpenBLAS may still start its idle pool
/// threads when it is loaded; they sleep.) Setting the environment variable
/// `BACKPROP_BLAS=off` (or `0`, `false`, `no`, `none`) before the first use
/// keeps the library from ever being loaded; `BACKPROP_BLAS=on` (or `1`,
/// `true`, `yes`, `openblas`) makes plans use it by default. Nothing loads
/// it unless a plan asks for it or ``Runtime/blasFound`` is read.
///
/// ```swift
/// print(BLAS.status)  // "OpenBLAS (libopenblas.so.0)", "not found", …
/// ```
///
/// Kernels still choose per call: ``Gemm`` takes a `useBLAS` flag, which is
/// how tests (and an embedding application's plans) force the portable
/// kernel without touching this process-wide state.
enum BLAS {
    /// The environment variable that disables BLAS.
    static var environmentVariable: String { "BACKPROP_BLAS" }

    /// The shared-library names tried, in order: Debian's single-threaded
    /// build first (it never starts a thread pool), then the default one.
    static var libraryNames: [String] {
        [
            "/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0",
            "/usr/lib/aarch64-linux-gnu/openblas-serial/libopenblas.so.0",
            "libopenblas.so.0", "libopenblas.so",
        ]
    }

    /// The variable OpenBLAS reads, once, when it is loaded, to size the
    /// thread pool it starts then.
    static var threadsVariable: String { "OPENBLAS_NUM_THREADS" }

    /// The loaded library and its description, computed once (Swift's
    /// lazy, thread-safe initialisation of static stored properties).
    private static let loaded: (library: BLASLibrary?, status: String) = load(
        environment: ProcessInfo.processInfo.environment)

    /// The process's BLAS, or `nil` when none was found or it is disabled.
    static var shared: BLASLibrary? { loaded.library }

    /// A one-line description for logs and `bench` output:
    /// `"OpenBLAS (libopenblas.so.0)"`, `"not found"`,
    /// `"disabled by BACKPROP_BLAS=off"` or `"not available on this platform"`.
    static var status: String { loaded.status }

    /// Whether `value` (of ``environmentVariable``) disables BLAS.
    static func isDisabled(by value: String?) -> Bool {
        guard let value else { return false }
        return ["off", "0", "false", "no", "none"].contains(value.lowercased())
    }

    /// Whether `value` (of ``environmentVariable``) makes plans use the
    /// BLAS by default (Note [Own kernel by default]).
    static func isPreferred(by value: String?) -> Bool {
        guard let value else { return false }
        return ["on", "1", "true", "yes", "openblas"].contains(value.lowercased())
    }

    /// Whether `value` is a setting of ``environmentVariable`` that means
    /// something (unset, off or on); the CLI refuses any other.
    static func isValid(_ value: String?) -> Bool {
        value == nil || isDisabled(by: value) || isPreferred(by: value)
    }

    /// ``PlanOptions/useBLAS``'s default for this process: `true` when
    /// `BACKPROP_BLAS=on` (read once).
    static let preferredByDefault = isPreferred(
        by: ProcessInfo.processInfo.environment[environmentVariable])

    /// Looks for a BLAS as the process does on first use, given `environment`
    /// and the shared-library `names` to try in order.
    ///
    /// ``shared`` is this function's result for the process environment and
    /// ``libraryNames``; tests call it directly with made-up arguments. A
    /// successful load is cheap to repeat (dlopen counts references) and is
    /// never unloaded; a library without all three entry points is closed
    /// again and skipped.
    static func load(
        environment: [String: String], names: [String] = libraryNames
    ) -> (library: BLASLibrary?, status: String) {
        if let value = environment[environmentVariable], isDisabled(by: value) {
            return (nil, "disabled by \(environmentVariable)=\(value)")
        }
        #if os(Linux)
            // Note [No OpenBLAS pool]
            // A threaded OpenBLAS starts its pool as the library loads, sized
            // by OPENBLAS_NUM_THREADS (else the cores), before
            // openblas_set_num_threads(1) can run: the idle pool thread then
            // spins in sched_yield on another core (25% of all samples of a
            // 1-thread S2 here), competing with our own workers. Setting the
            // variable before dlopen — unless the user chose a value — means
            // no pool is ever started. `setenv` is called once, from this
            // one-time initialisation, before any OpenBLAS code runs.
            if ProcessInfo.processInfo.environment[threadsVariable] == nil {
                setenv(threadsVariable, "1", 0)
            }
            for name in names {
                if let library = open(name) {
                    let shown =
                        name.hasPrefix("/")
                        ? "\(name.split(separator: "/").suffix(2).joined(separator: "/"))" : name
                    return (library, "OpenBLAS (\(shown))")
                }
            }
            return (nil, "not found")
        #else
            return (nil, "not available on this platform")
        #endif
    }

    #if os(Linux)
        /// dlopen + dlsym for one candidate; `nil` (and the handle closed)
        /// unless every entry point resolves.
        private static func open(_ name: String) -> BLASLibrary? {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { return nil }
            guard let sgemm = dlsym(handle, "cblas_sgemm"),
                let dgemm = dlsym(handle, "cblas_dgemm"),
                let setThreads = dlsym(handle, "openblas_set_num_threads")
            else {
                dlclose(handle)
                return nil
            }
            unsafeBitCast(setThreads, to: OpenBLASSetNumThreads.self)(1)
            return BLASLibrary(
                name: name,
                sgemm: unsafeBitCast(sgemm, to: CBLASSgemm.self),
                dgemm: unsafeBitCast(dgemm, to: CBLASDgemm.self))
        }
    #endif
}
