#include "core/common/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <vector>

namespace sb {

struct Sha256::State
{
    EVP_MD_CTX *ctx = nullptr;
};

Sha256::Sha256() : m_state(std::make_unique<State>())
{
    m_state->ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(m_state->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256()
{
    EVP_MD_CTX_free(m_state->ctx);
}

void Sha256::update(const void *data, std::size_t size)
{
    EVP_DigestUpdate(m_state->ctx, data, size);
}

std::string Sha256::finishHex()
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(m_state->ctx, digest, &length);
    static const char *hexDigits = "0123456789abcdef";
    std::string hex;
    hex.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        hex.push_back(hexDigits[digest[i] >> 4]);
        hex.push_back(hexDigits[digest[i] & 15]);
    }
    return hex;
}

std::string sha256Hex(std::string_view bytes)
{
    Sha256 hasher;
    hasher.update(bytes.data(), bytes.size());
    return hasher.finishHex();
}

Result<std::string> sha256File(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return makeError(ErrorCode::NotFound, path.string() + ": cannot open file");
    Sha256 hasher;
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        hasher.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad())
        return makeError(ErrorCode::Io, path.string() + ": read error");
    return hasher.finishHex();
}

} // namespace sb
