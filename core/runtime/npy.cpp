#include "core/runtime/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace sb::runtime {

namespace {

struct DtypeMap
{
    const char *descr;
    ElementType type;
};
constexpr DtypeMap kDtypes[] = {
    {"f2", ElementType::Float16}, {"f4", ElementType::Float32}, {"f8", ElementType::Float64},
    {"i1", ElementType::Int8},    {"i2", ElementType::Int16},   {"i4", ElementType::Int32},
    {"i8", ElementType::Int64},   {"u1", ElementType::UInt8},   {"u2", ElementType::UInt16},
    {"u4", ElementType::UInt32},  {"u8", ElementType::UInt64},  {"b1", ElementType::Bool},
};

std::string headerValue(const std::string &header, const std::string &key)
{
    auto pos = header.find("'" + key + "'");
    if (pos == std::string::npos)
        return {};
    pos = header.find(':', pos);
    if (pos == std::string::npos)
        return {};
    ++pos;
    while (pos < header.size() && header[pos] == ' ')
        ++pos;
    if (pos >= header.size())
        return {};
    if (header[pos] == '\'') {
        auto end = header.find('\'', pos + 1);
        return end == std::string::npos ? std::string() : header.substr(pos + 1, end - pos - 1);
    }
    if (header[pos] == '(') {
        auto end = header.find(')', pos);
        return end == std::string::npos ? std::string() : header.substr(pos, end - pos + 1);
    }
    auto end = header.find_first_of(",}", pos);
    return header.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

} // namespace

Result<Tensor> parseNpy(const std::string &bytes, const std::string &source)
{
    auto bad = [&](const std::string &what) {
        return makeError(ErrorCode::InvalidInput, source + ": not a valid .npy file: " + what);
    };
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
        return bad("missing \\x93NUMPY magic");
    int major = static_cast<unsigned char>(bytes[6]);
    std::size_t headerLength = 0;
    std::size_t headerStart = 0;
    if (major == 1) {
        headerLength = static_cast<unsigned char>(bytes[8]) |
                       (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
        headerStart = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12)
            return bad("truncated header");
        for (int i = 3; i >= 0; --i)
            headerLength = (headerLength << 8) | static_cast<unsigned char>(bytes[8 + i]);
        headerStart = 12;
    } else {
        return bad("unknown format version " + std::to_string(major));
    }
    if (headerStart + headerLength > bytes.size())
        return bad("truncated header");
    std::string header = bytes.substr(headerStart, headerLength);
    std::string descr = headerValue(header, "descr");
    std::string fortran = headerValue(header, "fortran_order");
    std::string shapeText = headerValue(header, "shape");
    if (descr.size() < 2 || shapeText.empty())
        return bad("header lacks descr or shape");
    if (fortran.find("True") != std::string::npos)
        return makeError(ErrorCode::Unsupported,
                         source + ": Fortran-order arrays are not supported");
    char order = descr[0];
    std::string code = descr.substr(1);
    if (order == '>' && code != "i1" && code != "u1" && code != "b1")
        return makeError(ErrorCode::Unsupported, source + ": big-endian dtype '" + descr + "'");
    ElementType type = ElementType::Undefined;
    for (const auto &entry : kDtypes)
        if (code == entry.descr)
            type = entry.type;
    if (type == ElementType::Undefined)
        return makeError(ErrorCode::Unsupported, source + ": unsupported dtype '" + descr + "'");
    Shape shape;
    std::string digits;
    for (char c : shapeText) {
        if (c >= '0' && c <= '9') {
            digits += c;
        } else if (!digits.empty()) {
            if (digits.size() > 15)
                return bad("dimension too large");
            shape.push_back(std::stoll(digits));
            digits.clear();
        } else if (c == '-') {
            return bad("negative dimension");
        }
    }
    std::size_t dataStart = headerStart + headerLength;
    long double expected = static_cast<long double>(graph::elementSize(type));
    for (auto d : shape)
        expected *= static_cast<long double>(d);
    if (expected != static_cast<long double>(bytes.size() - dataStart))
        return bad("data holds " + std::to_string(bytes.size() - dataStart) + " bytes, shape " +
                   shapeToString(shape) + " of " + graph::elementTypeName(type) + " needs " +
                   std::to_string(static_cast<unsigned long long>(expected)));
    Tensor tensor = Tensor::empty(type, shape);
    if (tensor.byteSize())
        std::memcpy(tensor.data(), bytes.data() + dataStart, tensor.byteSize());
    return tensor;
}

Result<Tensor> readNpy(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return makeError(ErrorCode::NotFound, path.string() + ": cannot open file");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return parseNpy(buffer.str(), path.string());
}

Status writeNpy(const std::filesystem::path &path, const Tensor &tensor)
{
    std::string descr;
    for (const auto &entry : kDtypes)
        if (entry.type == tensor.type())
            descr = entry.descr;
    if (descr.empty())
        return makeError(ErrorCode::Unsupported, path.string() + ": cannot write element type " +
                                                     graph::elementTypeName(tensor.type()) +
                                                     " as .npy");
    descr = (descr == "i1" || descr == "u1" || descr == "b1" ? "|" : "<") + descr;
    std::string shape = "(";
    for (std::size_t i = 0; i < tensor.rank(); ++i)
        shape += std::to_string(tensor.dim(i)) +
                 (tensor.rank() == 1 || i + 1 < tensor.rank() ? "," : "");
    shape += ")";
    std::string header =
        "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    std::size_t total = 10 + header.size() + 1;
    std::size_t padding = (64 - total % 64) % 64;
    header += std::string(padding, ' ') + "\n";
    std::ofstream out(path, std::ios::binary);
    if (!out)
        return makeError(ErrorCode::Io, path.string() + ": cannot create file");
    out.write("\x93NUMPY\x01\x00", 8);
    char length[2] = {static_cast<char>(header.size() & 0xff),
                      static_cast<char>(header.size() >> 8)};
    out.write(length, 2);
    out << header;
    out.write(static_cast<const char *>(tensor.data()),
              static_cast<std::streamsize>(tensor.byteSize()));
    if (!out)
        return makeError(ErrorCode::Io, path.string() + ": write failed");
    return Status::success();
}

} // namespace sb::runtime
