#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/// Starts counting heap allocations made by the calling thread.
void allocation_counter_begin(void);
/// Stops counting and returns the number of allocations since begin, not
/// counting those libdispatch made itself, or -1 where counting is not
/// supported (not Linux/glibc).
long allocation_counter_end(void);
/// The allocations libdispatch made itself on the calling thread between
/// begin and end (its continuations for other threads), or -1.
long allocation_counter_dispatch(void);

#endif
