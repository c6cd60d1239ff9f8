// A read-only memory map of a whole file: the model file the importer parses
// in place and the external-data files whose pages initializers borrow.
//
// Contract: open() maps a regular file read-only (MAP_PRIVATE); an empty file
// maps to data() == nullptr and size() 0. The map lives as long as the last
// shared_ptr to it (tensors borrowing its pages hold one). Errors name the
// path: Io when it cannot be opened or mapped, InvalidInput when it is not a
// regular file. No POSIX headers appear here.
#pragma once

#include "core/common/result.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace sb::graph {

class MappedFile
{
public:
    static Result<std::shared_ptr<MappedFile>> open(const std::filesystem::path &path);
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile &operator=(const MappedFile &) = delete;

    const std::uint8_t *data() const { return static_cast<const std::uint8_t *>(m_data); }
    std::size_t size() const { return m_size; }

private:
    MappedFile() = default;
    void *m_data = nullptr;
    std::size_t m_size = 0;
};

} // namespace sb::graph
