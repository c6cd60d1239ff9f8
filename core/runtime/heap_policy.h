// How the process's heap treats the large blocks every run allocates anew.
#pragma once

#include <cstddef>

namespace sb::runtime {

// Keeps freed blocks of up to 32 MiB in the process's heap between runs
// instead of handing them back to the kernel, so the next run does not fault
// their pages in again.
//
// Why: a run allocates the same large blocks every time (a stage's outputs
// copied out of its arena, the driver's concatenated outputs, MPI frames and
// the tensors decoded from them). glibc serves blocks above its mmap threshold
// (128 KiB at start, raised only as such blocks are freed, and per arena) with
// fresh mappings and trims freed heap tops, so each run faulted those pages in
// again. On a virtual machine a page fault costs microseconds, and each one
// preempts a computing stage: a 1-stage, 2-thread pipeline of the demo decoder
// at 8 micro-batches ran at ~125 samples/s with glibc's defaults and ~185 with
// this (97,000 against 54,000 page faults in 31 iterations; +27 MB peak RSS).
//
// What: mallopt's mmap threshold 32 MiB (glibc's own ceiling for its dynamic
// threshold) and trim threshold 256 MiB, and the tensor block cache below.
// Process-wide, so executables call it first thing in main(); a no-op
// when the environment sets SHARDBENCH_MALLOC=default (or, as before,
// SHARDBENCH_WORKER_MALLOC=default) for A/B timing. Returns whether the
// policy was applied (without glibc only the cache is).
bool keepRunBuffersMapped();

// The tensor block cache (on once keepRunBuffersMapped applied): a freed
// tensor block of at least kCachedBlockMinBytes waits, most recent first, for
// the next tensor of exactly its size, on any thread; at most
// kCachedBlocksMax blocks and kCachedBytesMax bytes wait, the oldest going
// back to the heap first.
//
// Why: the mallopt thresholds keep a thread's freed blocks in its own heap,
// but a stage's outputs are freed by the thread that received them, and
// glibc's per-thread arenas still unmap a whole 64 MiB heap of theirs when it
// empties, whatever the trim threshold. A 2-stage ResNet-18 plan at 1
// micro-batch faulted in its 6.4 MB hand-off on every run (1,569 page faults
// per run, 3,137 with 3 stages; cost_model_bench), and its first stage
// computed 12-39% over its prediction (cost_model_bench). One arena
// for all threads (M_ARENA_MAX 1) ended the faults but made the transformer
// plans at 8 micro-batches 7-17% slower (malloc's lock).
inline constexpr std::size_t kCachedBlockMinBytes = std::size_t{256} << 10;
inline constexpr std::size_t kCachedBlocksMax = 64;
inline constexpr std::size_t kCachedBytesMax = std::size_t{256} << 20;

// A 64-byte-aligned block of `bytes` (rounded up to 64), from the cache when
// it holds one of that size, else the heap; nullptr when the heap has none.
[[nodiscard]] void *allocateTensorBlock(std::size_t bytes);
// Gives back a block of allocateTensorBlock(bytes): to the cache when it is
// on and the block large enough, else the heap.
void freeTensorBlock(void *block, std::size_t bytes);
// Blocks waiting in the cache now.
std::size_t cachedTensorBlocks();
// Gives every waiting block back to the heap (e.g. after a model is closed).
void releaseCachedTensorBlocks();

} // namespace sb::runtime
