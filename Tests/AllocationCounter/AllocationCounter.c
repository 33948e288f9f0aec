// Counts heap allocations of the calling thread, for the tests that a
// plan's re-execution and a training step allocate nothing. On Linux with
// glibc the allocation entry points are interposed (this object is linked
// into the test executable) and forward to glibc's own implementations;
// elsewhere counting is off.
//
// Allocations that libdispatch makes itself (called from inside
// libdispatch.so: the continuations it hands to other threads when a pass
// runs on more than one worker, taken from a per-thread cache that those
// threads refill) are counted apart: they are Dispatch's, not Backprop's,
// and no code of ours can avoid them while Dispatch lends the threads.
// dladdr is a GNU extension: ask for it before any header.
#define _GNU_SOURCE 1
#include "AllocationCounter.h"

#include <stddef.h>
// __GLIBC__ comes from glibc's own headers; stddef.h (the compiler's) does
// not define it, so without this the counter was never compiled in (every
// count was -1, "unsupported").
#if defined(__linux__)
#include <features.h>
#endif

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define ALLOCATION_COUNTER_SANITIZED 1
#endif
#endif

// Sanitizers interpose the allocator themselves: count nothing under them.
#if defined(__linux__) && defined(__GLIBC__) && !defined(ALLOCATION_COUNTER_SANITIZED)

#include <dlfcn.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static __thread long allocations = 0;
static __thread long dispatch_allocations = 0;
static __thread int counting = 0;

// Whether the code at `caller` belongs to libdispatch.
static int in_libdispatch(void *caller) {
    Dl_info info;
    return dladdr(caller, &info) != 0 && info.dli_fname != NULL &&
           strstr(info.dli_fname, "libdispatch") != NULL;
}

#define COUNT()                                                         \
    do {                                                                \
        if (counting) {                                                 \
            counting = 0; /* dladdr must not count itself */            \
            if (in_libdispatch(__builtin_return_address(0)))            \
                dispatch_allocations++;                                 \
            else                                                        \
                allocations++;                                          \
            counting = 1;                                               \
        }                                                               \
    } while (0)

void *malloc(size_t size) {
    COUNT();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    COUNT();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    COUNT();
    return __libc_realloc(p, size);
}

void free(void *p) { __libc_free(p); }

void *memalign(size_t alignment, size_t size) {
    COUNT();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    COUNT();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    COUNT();
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void allocation_counter_begin(void) {
    allocations = 0;
    dispatch_allocations = 0;
    counting = 1;
}

long allocation_counter_end(void) {
    counting = 0;
    return allocations;
}

long allocation_counter_dispatch(void) { return dispatch_allocations; }

#else

void allocation_counter_begin(void) {}
long allocation_counter_end(void) { return -1; }
long allocation_counter_dispatch(void) { return -1; }

#endif
