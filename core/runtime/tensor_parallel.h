// Tensor parallelism at run time: the collective ops a shard graph runs and
// the context they run in.
//
// A tensor-parallel stage runs one shard graph per device of its group
// (core/plan/tensor_parallel.h builds them): the same nodes with sliced
// weights, plus these ops of domain "sb":
//   AllReduceSum(partial) -> sum over the group (row-split MatMul/Gemm)
//   AllGather(shard) attrs axis, segments -> the full tensor (a column-split
//       value leaving the sharded region); `segments` are the full sizes of
//       the parts each shard holds a 1/G slice of (a fused QKV weight: 3).
//   ShardShape(shape) attrs axis, parts -> the shape with shape[axis] / parts
//       (Reshape targets computed from full sizes; -1 and 0 left alone)
//   ShardSlice(x) attrs axis, parts, index -> slice `index` of `parts` along
//       axis (a row split whose input is not sharded)
//
// Contract:
//  - The collectives find their group through a thread-local
//    CollectiveContext installed by CollectiveScope around Executor::run on
//    the shard's thread (kernels run on the thread that calls run()). Outside
//    a scope they fail with an error naming the node.
//  - Every member sums / concatenates in group order, so all members hold
//    bitwise-identical results.
//  - The default Transport collectives (pointToPointAllReduceSum /
//    pointToPointAllGather) exchange copies over the transport's links
//    between group members (kind Data, microbatch -1, text naming the
//    collective), so they work wherever send/receive work (in-process, MPI).
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/runtime/kernel_registry.h"
#include "core/runtime/pipeline_transport.h"
#include "core/runtime/tensor.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sb::runtime {

inline constexpr const char *kShardDomain = "sb";

struct CollectiveEvent
{
    std::string kind; // "all-reduce", "all-gather"
    double startMs = 0;
    double endMs = 0;
    std::uint64_t bytes = 0;
};

struct CollectiveContext
{
    Transport *transport = nullptr;
    std::vector<int> group; // transport endpoints of the shards, in shard order
    int index = 0;          // this shard's position in `group`
    const CancelToken *cancel = nullptr;
    std::chrono::steady_clock::time_point origin = std::chrono::steady_clock::now();
    std::vector<CollectiveEvent> events; // appended by the collective ops
};

// Installs `context` for the collective ops run on this thread.
class CollectiveScope
{
public:
    explicit CollectiveScope(CollectiveContext &context);
    ~CollectiveScope();
    CollectiveScope(const CollectiveScope &) = delete;
    CollectiveScope &operator=(const CollectiveScope &) = delete;

private:
    CollectiveContext *m_previous;
};
CollectiveContext *currentCollectiveContext();

[[nodiscard]] Status pointToPointAllReduceSum(Transport &transport, const std::vector<int> &group,
                                              int index, Tensor &tensor, const CancelToken *cancel);
[[nodiscard]] Result<Tensor> pointToPointAllGather(Transport &transport,
                                                   const std::vector<int> &group, int index,
                                                   const Tensor &tensor, int axis,
                                                   const CancelToken *cancel);

// Reorders a tensor gathered along `axis` (shard-major: shard 0's piece of
// every segment, then shard 1's...) into segment-major order (the full
// tensor). `segments` are full segment sizes summing to the axis size.
Tensor interleaveSegments(const Tensor &gathered, int axis,
                          const std::vector<std::int64_t> &segments, int parts);

// The four ops above, for CPU devices.
void registerTensorParallelKernels(KernelRegistry &registry);

} // namespace sb::runtime
