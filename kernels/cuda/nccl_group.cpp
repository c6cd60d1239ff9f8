#include "kernels/cuda/nccl_group.h"

#include "core/runtime/mpi_world.h"
#include "kernels/cuda/cuda_context.h"

#include <nccl.h>

#include <cstring>

namespace sb::kernels {

namespace {

std::string ncclMessage(const char *what, ncclResult_t status)
{
    return std::string(what) + " failed: " + ncclGetErrorString(status);
}

} // namespace

#define SB_NCCL_CHECK(where, call)                                                                 \
    do {                                                                                           \
        const ncclResult_t sbStatus_ = (call);                                                     \
        if (sbStatus_ != ncclSuccess)                                                              \
            return makeError(ErrorCode::Runtime,                                                   \
                             (where) + std::string(": ") + ncclMessage(#call, sbStatus_));         \
    } while (0)

struct NcclGroup::Impl
{
    struct Member
    {
        int device = 0;
        int rank = 0;
        ncclComm_t comm = nullptr;
        cudaStream_t stream = nullptr;
    };
    int size = 0;
    std::vector<Member> members;

    ~Impl()
    {
        for (Member &m : members) {
            cudaSetDevice(m.device);
            if (m.stream)
                cudaStreamSynchronize(m.stream);
            if (m.comm)
                ncclCommDestroy(m.comm);
            if (m.stream)
                cudaStreamDestroy(m.stream);
        }
    }

    std::string where(std::size_t i) const
    {
        return "NCCL rank " + std::to_string(members[i].rank) +
               " (cuda:" + std::to_string(members[i].device) + ")";
    }

    Status createStreams()
    {
        for (std::size_t i = 0; i < members.size(); ++i) {
            SB_CUDA_CHECK(where(i), cudaSetDevice(members[i].device));
            SB_CUDA_CHECK(where(i),
                          cudaStreamCreateWithFlags(&members[i].stream, cudaStreamNonBlocking));
        }
        return {};
    }
};

NcclGroup::NcclGroup(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
NcclGroup::~NcclGroup() = default;

Result<std::unique_ptr<NcclGroup>> NcclGroup::createLocal(const std::vector<int> &cudaDevices)
{
    if (cudaDevices.empty())
        return makeError(ErrorCode::InvalidInput, "NCCL group: no GPUs");
    auto impl = std::make_unique<Impl>();
    impl->size = static_cast<int>(cudaDevices.size());
    std::vector<ncclComm_t> comms(cudaDevices.size(), nullptr);
    SB_NCCL_CHECK(std::string("NCCL group"),
                  ncclCommInitAll(comms.data(), impl->size, cudaDevices.data()));
    for (std::size_t i = 0; i < cudaDevices.size(); ++i)
        impl->members.push_back(
            Impl::Member{cudaDevices[i], static_cast<int>(i), comms[i], nullptr});
    SB_TRY(impl->createStreams());
    return std::unique_ptr<NcclGroup>(new NcclGroup(std::move(impl)));
}

Result<std::unique_ptr<NcclGroup>> NcclGroup::createAcrossRanks(runtime::MpiWorld &world,
                                                                int cudaDevice)
{
    ncclUniqueId id{};
    std::string bytes;
    if (world.rank() == 0) {
        SB_NCCL_CHECK(std::string("NCCL group"), ncclGetUniqueId(&id));
        bytes.assign(reinterpret_cast<const char *>(&id), sizeof id);
    }
    SB_ASSIGN_OR_RETURN(std::string shared, world.broadcast(bytes, 0));
    if (shared.size() != sizeof id)
        return makeError(ErrorCode::Runtime, "NCCL group: the unique id broadcast over MPI has " +
                                                 std::to_string(shared.size()) + " bytes, not " +
                                                 std::to_string(sizeof id));
    std::memcpy(&id, shared.data(), sizeof id);
    auto impl = std::make_unique<Impl>();
    impl->size = world.size();
    Impl::Member member{cudaDevice, world.rank(), nullptr, nullptr};
    const std::string at =
        "NCCL rank " + std::to_string(world.rank()) + " (cuda:" + std::to_string(cudaDevice) + ")";
    SB_CUDA_CHECK(at, cudaSetDevice(cudaDevice));
    SB_NCCL_CHECK(at, ncclCommInitRank(&member.comm, world.size(), id, world.rank()));
    impl->members.push_back(member);
    SB_TRY(impl->createStreams());
    return std::unique_ptr<NcclGroup>(new NcclGroup(std::move(impl)));
}

int NcclGroup::size() const
{
    return m_impl->size;
}

int NcclGroup::localCount() const
{
    return static_cast<int>(m_impl->members.size());
}

namespace {

Status checkFloatOnDevice(const runtime::Tensor &t, const std::string &where)
{
    if (t.type() != graph::ElementType::Float32 || t.isHost())
        return makeError(ErrorCode::InvalidInput, where + ": NCCL tensors are float32 on the GPU");
    return {};
}

} // namespace

Status NcclGroup::allReduceSum(const std::vector<runtime::Tensor *> &tensors)
{
    Impl &impl = *m_impl;
    if (tensors.size() != impl.members.size())
        return makeError(ErrorCode::InvalidInput,
                         "NCCL all-reduce: " + std::to_string(tensors.size()) + " tensors for " +
                             std::to_string(impl.members.size()) + " local members");
    for (std::size_t i = 0; i < tensors.size(); ++i)
        SB_TRY(checkFloatOnDevice(*tensors[i], impl.where(i)));
    SB_NCCL_CHECK(std::string("NCCL all-reduce"), ncclGroupStart());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const ncclResult_t status =
            ncclAllReduce(tensors[i]->data(), tensors[i]->data(),
                          static_cast<std::size_t>(tensors[i]->elementCount()), ncclFloat32,
                          ncclSum, impl.members[i].comm, impl.members[i].stream);
        if (status != ncclSuccess) {
            ncclGroupEnd();
            return makeError(ErrorCode::Runtime,
                             impl.where(i) + ": " + ncclMessage("ncclAllReduce", status));
        }
    }
    SB_NCCL_CHECK(std::string("NCCL all-reduce"), ncclGroupEnd());
    return {};
}

Status NcclGroup::allGather(const std::vector<const runtime::Tensor *> &inputs,
                            const std::vector<runtime::Tensor *> &outputs)
{
    Impl &impl = *m_impl;
    if (inputs.size() != impl.members.size() || outputs.size() != impl.members.size())
        return makeError(ErrorCode::InvalidInput, "NCCL all-gather: one input and one output "
                                                  "per local member expected");
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        SB_TRY(checkFloatOnDevice(*inputs[i], impl.where(i)));
        SB_TRY(checkFloatOnDevice(*outputs[i], impl.where(i)));
        if (outputs[i]->elementCount() != inputs[i]->elementCount() * impl.size)
            return makeError(ErrorCode::InvalidInput, impl.where(i) +
                                                          ": all-gather output must hold " +
                                                          std::to_string(impl.size) + " inputs");
    }
    SB_NCCL_CHECK(std::string("NCCL all-gather"), ncclGroupStart());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const ncclResult_t status =
            ncclAllGather(inputs[i]->data(), outputs[i]->data(),
                          static_cast<std::size_t>(inputs[i]->elementCount()), ncclFloat32,
                          impl.members[i].comm, impl.members[i].stream);
        if (status != ncclSuccess) {
            ncclGroupEnd();
            return makeError(ErrorCode::Runtime,
                             impl.where(i) + ": " + ncclMessage("ncclAllGather", status));
        }
    }
    SB_NCCL_CHECK(std::string("NCCL all-gather"), ncclGroupEnd());
    return {};
}

Status NcclGroup::send(int localMember, const runtime::Tensor &tensor, int peer)
{
    Impl &impl = *m_impl;
    if (localMember < 0 || localMember >= localCount() || peer < 0 || peer >= impl.size)
        return makeError(ErrorCode::InvalidInput, "NCCL send: member or peer out of range");
    const auto i = static_cast<std::size_t>(localMember);
    SB_TRY(checkFloatOnDevice(tensor, impl.where(i)));
    SB_NCCL_CHECK(impl.where(i),
                  ncclSend(tensor.data(), static_cast<std::size_t>(tensor.elementCount()),
                           ncclFloat32, peer, impl.members[i].comm, impl.members[i].stream));
    return {};
}

Status NcclGroup::receive(int localMember, runtime::Tensor &tensor, int peer)
{
    Impl &impl = *m_impl;
    if (localMember < 0 || localMember >= localCount() || peer < 0 || peer >= impl.size)
        return makeError(ErrorCode::InvalidInput, "NCCL receive: member or peer out of range");
    const auto i = static_cast<std::size_t>(localMember);
    SB_TRY(checkFloatOnDevice(tensor, impl.where(i)));
    SB_NCCL_CHECK(impl.where(i),
                  ncclRecv(tensor.data(), static_cast<std::size_t>(tensor.elementCount()),
                           ncclFloat32, peer, impl.members[i].comm, impl.members[i].stream));
    return {};
}

Status NcclGroup::synchronize()
{
    Impl &impl = *m_impl;
    for (std::size_t i = 0; i < impl.members.size(); ++i) {
        SB_CUDA_CHECK(impl.where(i), cudaSetDevice(impl.members[i].device));
        SB_CUDA_CHECK(impl.where(i), cudaStreamSynchronize(impl.members[i].stream));
    }
    return {};
}

} // namespace sb::kernels
