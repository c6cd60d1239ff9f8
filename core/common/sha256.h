// SHA-256 of bytes and files (OpenSSL's libcrypto underneath), as lowercase hex.
#pragma once

#include "core/common/result.h"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace sb {

std::string sha256Hex(std::string_view bytes);
Result<std::string> sha256File(const std::filesystem::path &path);

// Incremental hashing for streamed data.
class Sha256
{
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256 &) = delete;
    Sha256 &operator=(const Sha256 &) = delete;
    void update(const void *data, std::size_t size);
    std::string finishHex();

private:
    struct State;
    std::unique_ptr<State> m_state;
};

} // namespace sb
