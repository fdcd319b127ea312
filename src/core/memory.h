#pragma once
// Returning freed heap memory to the system.
//
// The allocator keeps what a process frees for its next allocations, so after a burst (a few
// hundred connections at once, each with its buffers, then closed) the resident size stays at
// the burst's high-water mark although the heap holds far less. A process that runs for days and
// is judged by its RSS (serve) hands the free pages back now and then.

namespace flotilla {

// Gives the free pages of every allocator arena back to the system (glibc's malloc_trim: the
// memory stays mapped and is reused on demand). Costs a walk over the free lists: call it
// seldom (serve: once a minute, with its pruning), never on the data plane. Any thread.
void release_free_memory();

}  // namespace flotilla
