// How the process's heap treats the large blocks every run allocates anew.
#pragma once

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
// threshold) and trim threshold 256 MiB. Process-wide, so executables call it
// first thing in main(); a no-op without glibc, or when the environment sets
// SHARDBENCH_MALLOC=default (or, as before, SHARDBENCH_WORKER_MALLOC=default)
// for A/B timing. Returns whether the policy was applied.
bool keepRunBuffersMapped();

} // namespace sb::runtime
