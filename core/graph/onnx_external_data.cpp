#include "core/graph/onnx_external_data.h"

#include <charconv>
#include <optional>
#include <system_error>

namespace sb::graph::detail {

namespace {

Result<std::int64_t> parseExternalInt(const ImportContext &ctx, const std::string &tensorName,
                                      const std::string &key, const std::string &text)
{
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 0)
        return ctx.invalid("tensor " + quoteName(tensorName) + ": external data " + key + " " +
                           quoteName(text) + " is not a non-negative integer");
    return value;
}

bool pathIsInside(const fs::path &child, const fs::path &parent)
{
    auto c = child.begin();
    for (auto p = parent.begin(); p != parent.end(); ++p, ++c) {
        if (p->empty())
            continue; // trailing separator
        if (c == child.end() || *c != *p)
            return false;
    }
    return true;
}

} // namespace

Result<std::shared_ptr<const TensorData>>
loadExternal(ImportContext &ctx, const onnx::TensorProto &tensor, ElementType type,
             std::vector<std::int64_t> dims, std::uint64_t expectedBytes)
{
    const std::string &name = tensor.name();
    std::string location;
    std::optional<std::int64_t> offset, length;
    bool haveLocation = false;
    for (const auto &entry : tensor.external_data()) {
        if (entry.key() == "location") {
            location = entry.value();
            haveLocation = true;
        } else if (entry.key() == "offset") {
            SB_ASSIGN_OR_RETURN(offset, parseExternalInt(ctx, name, "offset", entry.value()));
        } else if (entry.key() == "length") {
            SB_ASSIGN_OR_RETURN(length, parseExternalInt(ctx, name, "length", entry.value()));
        }
    }
    if (!haveLocation || location.empty())
        return ctx.invalid("tensor " + quoteName(name) +
                           " stores its data externally but has no location");
    if (type == ElementType::String)
        return ctx.unsupported("tensor " + quoteName(name) +
                               ": string tensors in external data are not supported");
    if (location.find('\0') != std::string::npos)
        return ctx.invalid("tensor " + quoteName(name) +
                           ": external data location contains a NUL byte");
    fs::path relative(location);
    if (relative.is_absolute() || location.front() == '/' || location.front() == '\\')
        return ctx.invalid("tensor " + quoteName(name) + ": external data location " +
                           quoteName(location) +
                           " is absolute; it must be a path relative to the model's folder");
    for (const auto &part : relative)
        if (part == "..")
            return ctx.invalid("tensor " + quoteName(name) + ": external data location " +
                               quoteName(location) + " escapes the model's folder ('..')");
    if (location.find("..\\") != std::string::npos)
        return ctx.invalid("tensor " + quoteName(name) + ": external data location " +
                           quoteName(location) + " escapes the model's folder ('..')");
    if (ctx.baseDir.empty())
        return ctx.invalid("tensor " + quoteName(name) + ": external data " + quoteName(location) +
                           " cannot be resolved: the model was given as bytes without a folder");

    std::error_code ec;
    fs::path base = fs::canonical(ctx.baseDir, ec);
    if (ec)
        return makeError(ErrorCode::NotFound, ctx.source + ": model folder " +
                                                  quoteName(ctx.baseDir.string()) + ": " +
                                                  ec.message());
    fs::path resolved = fs::canonical(base / relative, ec);
    if (ec)
        return makeError(ErrorCode::NotFound, ctx.source + ": tensor " + quoteName(name) +
                                                  ": external data file " + quoteName(location) +
                                                  " not found next to the model (" + ec.message() +
                                                  ")");
    if (!pathIsInside(resolved, base))
        return ctx.invalid("tensor " + quoteName(name) + ": external data location " +
                           quoteName(location) + " resolves to " + quoteName(resolved.string()) +
                           ", outside the model's folder (symlink)");
    if (!fs::is_regular_file(resolved, ec))
        return ctx.invalid("tensor " + quoteName(name) + ": external data " + quoteName(location) +
                           " is not a regular file");

    std::shared_ptr<MappedFile> &mapping = ctx.mappings[resolved.string()];
    if (!mapping) {
        SB_ASSIGN_OR_RETURN(mapping, MappedFile::open(resolved));
    }
    std::uint64_t fileSize = mapping->size();
    std::uint64_t start = offset ? static_cast<std::uint64_t>(*offset) : 0;
    if (start > fileSize)
        return ctx.invalid("tensor " + quoteName(name) + ": external data offset " +
                           std::to_string(start) + " is beyond the end of " + quoteName(location) +
                           " (" + std::to_string(fileSize) + " bytes)");
    std::uint64_t size = length ? static_cast<std::uint64_t>(*length) : fileSize - start;
    if (size > fileSize - start)
        return ctx.invalid("tensor " + quoteName(name) + ": external data offset " +
                           std::to_string(start) + " + length " + std::to_string(size) +
                           " exceeds the size of " + quoteName(location) + " (" +
                           std::to_string(fileSize) + " bytes)");
    if (size != expectedBytes)
        return ctx.invalid("tensor " + quoteName(name) + ": external data holds " +
                           std::to_string(size) + " bytes but its shape and type need " +
                           std::to_string(expectedBytes));
    const std::uint8_t *data = mapping->data() ? mapping->data() + start : nullptr;
    return std::shared_ptr<const TensorData>(
        TensorData::fromShared(type, std::move(dims), std::shared_ptr<const void>(mapping), data,
                               static_cast<std::size_t>(size)));
}

} // namespace sb::graph::detail
