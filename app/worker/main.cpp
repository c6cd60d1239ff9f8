// shardbench-worker: the process that hosts pipeline stages on another host
// (launched by mpirun for remote devices). It reports what this build can do.
#include <cstring>
#include <iostream>

int main(int argc, char **argv)
{
    if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        std::cout << "Usage: shardbench-worker [--version] [--capabilities]\n\n"
                     "Hosts pipeline stages for remote devices. Started by the workbench or\n"
                     "shardbench-cli through mpirun; not meant to be run by hand.\n";
        return 0;
    }
    if (argc > 1 && std::strcmp(argv[1], "--capabilities") == 0) {
        std::cout << "{\"version\":\"" SHARDBENCH_VERSION "\",\"cuda\":"
#ifdef SHARDBENCH_HAVE_CUDA
                  << "true"
#else
                  << "false"
#endif
                  << ",\"nccl\":"
#ifdef SHARDBENCH_HAVE_NCCL
                  << "true"
#else
                  << "false"
#endif
                  << ",\"mpi\":"
#ifdef SHARDBENCH_HAVE_MPI
                  << "true"
#else
                  << "false"
#endif
                  << "}\n";
        return 0;
    }
    std::cout << "shardbench-worker " SHARDBENCH_VERSION "\n";
    return 0;
}
