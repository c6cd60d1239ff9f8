#include "core/runtime/heap_policy.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sb::runtime {

namespace {

bool defaultsRequested(const char *variable)
{
    const char *mode = std::getenv(variable);
    return mode && std::strcmp(mode, "default") == 0;
}

} // namespace

bool keepRunBuffersMapped()
{
    if (defaultsRequested("SHARDBENCH_MALLOC") || defaultsRequested("SHARDBENCH_WORKER_MALLOC"))
        return false;
#if defined(__GLIBC__)
    // mallopt returns 1 on success.
    const bool mmapSet = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
    const bool trimSet = mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
    return mmapSet && trimSet;
#else
    return false;
#endif
}

} // namespace sb::runtime
