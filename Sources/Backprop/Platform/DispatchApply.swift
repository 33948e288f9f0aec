// `dispatch_apply_f`, looked up at run time (Note [Allocation-free launch]
// in Scheduler/ParallelLaunch.swift).

#if os(Linux)
    import Glibc
#endif

/// libdispatch's `dispatch_apply_f`, resolved once with `dlsym`.
enum DispatchApply {
    typealias ApplyFunction =
        @convention(c) (
            Int, OpaquePointer?, UnsafeMutableRawPointer?,
            @convention(c) (UnsafeMutableRawPointer?, Int) -> Void
        ) -> Void

    /// `dispatch_apply_f(iterations, DISPATCH_APPLY_AUTO, context, function)`,
    /// or `nil` where it cannot be found.
    static let function: ApplyFunction? = {
        #if os(Linux)
            return dlsym(nil, "dispatch_apply_f").map { unsafeBitCast($0, to: ApplyFunction.self) }
        #else
            return nil
        #endif
    }()
}
