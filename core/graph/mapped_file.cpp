#include "core/graph/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sb::graph {

namespace fs = std::filesystem;

Result<std::shared_ptr<MappedFile>> MappedFile::open(const fs::path &path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return makeError(ErrorCode::Io, path.string() + ": cannot open: " + std::strerror(errno));
    struct stat st
    {
    };
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return makeError(ErrorCode::InvalidInput, path.string() + ": not a regular file");
    }
    auto file = std::shared_ptr<MappedFile>(new MappedFile());
    file->m_size = static_cast<std::size_t>(st.st_size);
    if (file->m_size > 0) {
        void *addr = ::mmap(nullptr, file->m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (addr == MAP_FAILED) {
            int err = errno;
            ::close(fd);
            return makeError(ErrorCode::Io, path.string() + ": mmap failed: " + std::strerror(err));
        }
        file->m_data = addr;
    }
    ::close(fd);
    return file;
}

MappedFile::~MappedFile()
{
    if (m_data)
        ::munmap(m_data, m_size);
}

} // namespace sb::graph
