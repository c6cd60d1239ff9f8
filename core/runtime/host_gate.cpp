#include "core/runtime/host_gate.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <semaphore.h>

namespace sb::runtime {

struct HostCoreGate::Handle
{
    std::string name; // with the leading '/'
    sem_t *semaphore = SEM_FAILED;
    bool linked = false; // the name still exists and is ours to remove
    ~Handle()
    {
        if (semaphore != SEM_FAILED)
            sem_close(semaphore);
        if (linked)
            sem_unlink(name.c_str());
    }
};

namespace {

std::string semaphoreName(const std::string &name)
{
    std::string out = "/";
    for (char c : name.substr(0, 200))
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    return out;
}

} // namespace

HostCoreGate::HostCoreGate(std::unique_ptr<Handle> handle) : m_handle(std::move(handle)) {}
HostCoreGate::~HostCoreGate() = default;

Result<std::unique_ptr<HostCoreGate>> HostCoreGate::create(const std::string &name, int slots)
{
    auto handle = std::make_unique<Handle>();
    handle->name = semaphoreName(name);
    sem_unlink(handle->name.c_str()); // a stale one from a job that died
    handle->semaphore = sem_open(handle->name.c_str(), O_CREAT | O_EXCL, 0600,
                                 static_cast<unsigned>(std::max(1, slots)));
    if (handle->semaphore == SEM_FAILED)
        return makeError(ErrorCode::Io,
                         "core gate " + handle->name + ": sem_open: " + std::strerror(errno));
    handle->linked = true;
    return std::unique_ptr<HostCoreGate>(new HostCoreGate(std::move(handle)));
}

Result<std::unique_ptr<HostCoreGate>> HostCoreGate::open(const std::string &name)
{
    auto handle = std::make_unique<Handle>();
    handle->name = semaphoreName(name);
    handle->semaphore = sem_open(handle->name.c_str(), 0);
    if (handle->semaphore == SEM_FAILED)
        return makeError(ErrorCode::Io,
                         "core gate " + handle->name + ": sem_open: " + std::strerror(errno));
    return std::unique_ptr<HostCoreGate>(new HostCoreGate(std::move(handle)));
}

void HostCoreGate::unlink()
{
    if (m_handle->linked)
        sem_unlink(m_handle->name.c_str());
    m_handle->linked = false;
}

void HostCoreGate::acquire(int)
{
    while (sem_wait(m_handle->semaphore) != 0 && errno == EINTR) {
    }
}

void HostCoreGate::release(int)
{
    sem_post(m_handle->semaphore);
}

} // namespace sb::runtime
