// `dispatch_async_f` on a global queue, looked up at run time like
// `dispatch_apply_f` (Platform/DispatchApply.swift): a C function and a
// context pointer, where `DispatchQueue.async` would copy a closure into a
// block. Scheduler/WorkerHub.swift launches its helpers with it.

import Dispatch

#if os(Linux)
    import Glibc
#endif

/// Starts work on one of Dispatch's global queues.
enum DispatchAsync {
    typealias Function = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private typealias AsyncFunction =
        @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Function) -> Void
    private typealias GlobalQueueFunction = @convention(c) (Int, UInt) -> OpaquePointer?

    /// `dispatch_async_f` and the default-priority global queue (immutable
    /// once resolved, hence `@unchecked Sendable`).
    private struct Resolved: @unchecked Sendable {
        let async: AsyncFunction
        let queue: OpaquePointer
    }

    /// The functions, or `nil` where they cannot be found.
    private static let resolved: Resolved? = {
        #if os(Linux)
            guard let async = dlsym(nil, "dispatch_async_f"),
                let global = dlsym(nil, "dispatch_get_global_queue"),
                let queue = unsafeBitCast(global, to: GlobalQueueFunction.self)(0, 0)
            else { return nil }
            return Resolved(async: unsafeBitCast(async, to: AsyncFunction.self), queue: queue)
        #else
            return nil
        #endif
    }()

    /// A context pointer handed across threads (its owner's business).
    private struct Context: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer?
    }

    /// Runs `function(context)` on a global queue's thread, soon.
    static func run(_ context: UnsafeMutableRawPointer?, _ function: Function) {
        if let resolved {
            resolved.async(resolved.queue, context, function)
        } else {
            let box = Context(pointer: context)
            DispatchQueue.global().async { function(box.pointer) }
        }
    }
}
