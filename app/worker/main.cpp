// shardbench-worker: one MPI rank of a plan run across processes and hosts
// (started by mpirun, see core/plan/mpi_run.h), and the probe of a host's
// devices for the launcher.
#include "core/common/json_text.h"
#include "core/plan/mpi_run.h"
#include "core/runtime/heap_policy.h"
#include "core/runtime/mpi_world.h"
#include "kernels/registry.h"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <unistd.h>

namespace {

void usage()
{
    std::cout
        << "Usage: shardbench-worker [--version] [--capabilities]\n"
           "       shardbench-worker --probe [--cpu-devices N] [--run-id ID]\n"
           "       shardbench-worker --mpi-job FILE [--run-id ID]   (under mpirun)\n"
           "       shardbench-worker --mpi-calibrate [--bytes N] [--rounds N]  (under mpirun)\n\n"
           "One MPI rank of a pipelined run: rank 0 is the driver (reads the job FILE,\n"
           "feeds inputs, collects outputs and metrics), every rank hosts the stages the\n"
           "job puts on it. Started by shardbench-cli / the workbench through mpirun;\n"
           "not meant to be run by hand.\n\n"
           "--probe prints this host's devices as one JSON line.\n"
           "--mpi-calibrate measures latency and bandwidth from rank 0 to every rank\n"
           "(one JSON line from rank 0).\n"
           "Exit: 0 ok, 2 bad job, 4 run failed (a rank, device or stage fault).\n";
}

const char *option(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return nullptr;
}

bool flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], name) == 0)
            return true;
    return false;
}

int calibrate(sb::runtime::MpiWorld &world, std::size_t bytes, int rounds)
{
    nlohmann::json links = nlohmann::json::array();
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    auto hosts = world.allGather(host);
    if (!hosts)
        return 4;
    for (int peer = 1; peer < world.size(); ++peer) {
        if (world.rank() != 0 && world.rank() != peer) {
            (void)world.barrier();
            continue;
        }
        const int other = world.rank() == 0 ? peer : 0;
        auto small = world.pingPong(other, 8, rounds * 10);
        auto large = world.pingPong(other, bytes, rounds);
        if (!small || !large) {
            std::cerr << (small ? large.error() : small.error()).message << "\n";
            world.abort(4);
        }
        const double latency = *small / 2;
        const double bandwidth = static_cast<double>(bytes) / std::max(1e-9, *large / 2 - latency);
        if (world.rank() == 0)
            links.push_back({{"from_rank", 0},
                             {"to_rank", peer},
                             {"from_host", (*hosts)[0]},
                             {"to_host", (*hosts)[static_cast<std::size_t>(peer)]},
                             {"latency_s", latency},
                             {"bandwidth", bandwidth},
                             {"bytes", bytes},
                             {"rounds", rounds}});
        (void)world.barrier();
    }
    if (world.rank() == 0)
        std::cout << sb::jsonText(nlohmann::json{{"calibration", links}}) << std::endl;
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    // Registers the kernels and the device kinds (CUDA) before anything lists
    // or creates devices: the planner asks the device factory, not a kind's library.
    (void)sb::kernels::defaultRegistry();
    if (flag(argc, argv, "--help") || flag(argc, argv, "-h")) {
        usage();
        return 0;
    }
    if (flag(argc, argv, "--version")) {
        std::cout << "shardbench-worker " SHARDBENCH_VERSION "\n";
        return 0;
    }
    if (flag(argc, argv, "--capabilities")) {
        nlohmann::json doc = sb::plan::probeHostJson(1);
        std::cout << sb::jsonText(nlohmann::json{{"version", doc["version"]},
                                                 {"cuda", doc["cuda"]},
#ifdef SHARDBENCH_HAVE_NCCL
                                                 {"nccl", true},
#else
                                                 {"nccl", false},
#endif
                                                 {"mpi", doc["mpi"]}})
                  << "\n";
        return 0;
    }
    if (flag(argc, argv, "--probe")) {
        int cpuDevices = 2;
        if (const char *text = option(argc, argv, "--cpu-devices"))
            cpuDevices = std::max(1, std::atoi(text));
        nlohmann::json doc = sb::plan::probeHostJson(cpuDevices);
        // Under mpirun (devices --hosts) the launcher picks these lines out.
        if (const char *rank = std::getenv("OMPI_COMM_WORLD_RANK"))
            doc["rank"] = std::atoi(rank);
        std::cout << sb::jsonText(nlohmann::json{{"probe", doc}}) << std::endl;
        return 0;
    }
    const char *job = option(argc, argv, "--mpi-job");
    const bool calibrating = flag(argc, argv, "--mpi-calibrate");
    if (!job && !calibrating) {
        std::cout << "shardbench-worker " SHARDBENCH_VERSION " (see --help)\n";
        return 0;
    }
    // A rank allocates the same frames, decoded tensors and outputs every run
    // (rank 0 of pipeline_bench's 3-rank plan faulted ~2,200 pages in per run
    // with glibc's defaults): heap_policy.h.
    (void)sb::runtime::keepRunBuffersMapped();
    auto world = sb::runtime::MpiWorld::init(&argc, &argv);
    if (!world) {
        std::cerr << "shardbench-worker: " << world.error().message << "\n";
        return 2;
    }
    if (calibrating) {
        std::size_t bytes = 8u << 20;
        int rounds = 10;
        if (const char *text = option(argc, argv, "--bytes"))
            bytes = static_cast<std::size_t>(std::max(1L, std::atol(text)));
        if (const char *text = option(argc, argv, "--rounds"))
            rounds = std::max(1, std::atoi(text));
        return calibrate(**world, bytes, rounds);
    }
    return sb::plan::runMpiRank(**world, job, sb::kernels::defaultRegistry());
}
