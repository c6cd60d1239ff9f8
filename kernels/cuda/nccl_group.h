// NcclGroup: NCCL communicators for GPUs that exchange activations
// (send/recv between pipeline stages) or run tensor-parallel collectives
// (all-reduce, all-gather). No NCCL or CUDA header here.
//
//  - In one process: createLocal() makes one communicator per GPU with
//    ncclCommInitAll; a collective is one call with every member's tensor
//    (grouped with ncclGroupStart/End so the members do not deadlock).
//  - Across ranks: createAcrossRanks() has rank 0 make the unique id and
//    broadcasts it over MPI (MpiWorld::broadcast); each rank then owns one
//    communicator (ncclCommInitRank) and passes its own tensor.
// Tensors are float32 and live on the member's GPU. Every NCCL and CUDA
// status is checked; errors name the operation, the member and the device.
// Communicators and streams are released by the destructor (RAII).
#pragma once

#include "core/common/result.h"
#include "core/runtime/tensor.h"

#include <memory>
#include <vector>

namespace sb::runtime {
class MpiWorld;
}

namespace sb::kernels {

class NcclGroup
{
public:
    static Result<std::unique_ptr<NcclGroup>> createLocal(const std::vector<int> &cudaDevices);
    static Result<std::unique_ptr<NcclGroup>> createAcrossRanks(runtime::MpiWorld &world,
                                                                int cudaDevice);
    ~NcclGroup();
    NcclGroup(const NcclGroup &) = delete;
    NcclGroup &operator=(const NcclGroup &) = delete;

    int size() const;       // members in the group (all ranks)
    int localCount() const; // communicators held by this process

    // tensors[i]: local member i's tensor (same shape on every member); summed in place.
    Status allReduceSum(const std::vector<runtime::Tensor *> &tensors);
    // outputs[i] (size() times the input's elements) receives every member's input, in rank order.
    Status allGather(const std::vector<const runtime::Tensor *> &inputs,
                     const std::vector<runtime::Tensor *> &outputs);
    // Local member `from` sends `tensor` to group rank `peer`; the receiver
    // passes a tensor of the same shape. Both sides must call.
    Status send(int localMember, const runtime::Tensor &tensor, int peer);
    Status receive(int localMember, runtime::Tensor &tensor, int peer);
    // Waits for the group's queued NCCL work on every local member.
    Status synchronize();

    struct Impl;

private:
    explicit NcclGroup(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace sb::kernels
