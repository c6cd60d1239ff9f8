// MpiWorld for builds without MPI: init() says so.
#ifndef SHARDBENCH_HAVE_MPI
#include "core/runtime/mpi_world.h"

namespace sb::runtime {

struct MpiWorld::Impl
{
};

bool MpiWorld::available()
{
    return false;
}

Result<std::unique_ptr<MpiWorld>> MpiWorld::init(int *, char ***)
{
    return makeError(ErrorCode::Unsupported,
                     "this build has no MPI support (configure with libopenmpi-dev installed, "
                     "SHARDBENCH_MPI=AUTO or ON)");
}

MpiWorld::MpiWorld() = default;
MpiWorld::~MpiWorld() = default;
int MpiWorld::rank() const
{
    return 0;
}
int MpiWorld::size() const
{
    return 1;
}
Result<std::string> MpiWorld::broadcast(const std::string &text, int)
{
    return text;
}
Result<std::vector<std::string>> MpiWorld::allGather(const std::string &text)
{
    return std::vector<std::string>{text};
}
Status MpiWorld::barrier()
{
    return {};
}
void MpiWorld::abort(int exitCode)
{
    std::_Exit(exitCode);
}
Status MpiWorld::sendControl(int, ControlKind, const std::string &)
{
    return makeError(ErrorCode::Unsupported, "no MPI in this build");
}
std::optional<ControlMessage> MpiWorld::pollControl(ControlKind)
{
    return std::nullopt;
}
Result<double> MpiWorld::pingPong(int, std::size_t, int)
{
    return makeError(ErrorCode::Unsupported, "no MPI in this build");
}
std::shared_ptr<Transport> MpiWorld::makeTransport(std::vector<int>)
{
    return std::make_shared<InProcessTransport>();
}

} // namespace sb::runtime
#endif
