// ONNX import through Debian's libonnx. Everything protobuf/ONNX stays in this
// file; the boundary functions catch every exception.
//
// Pipeline: parse ModelProto -> convert (validating names, inputs, ops,
// tensors, external data) -> topological sort (Kahn, stable) -> ONNX checker
// per node -> ONNX shape inference on the proto -> merge inferred value_info
// into the IR -> blocks.
#include "core/graph/onnx_import.h"

#include "core/graph/blocks.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace sb::graph {
namespace {

namespace fs = std::filesystem;

// Read-only memory map of a whole file (external data). Unmapped on destruction.
class MappedFile
{
public:
    static Result<std::shared_ptr<MappedFile>> open(const fs::path &path)
    {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return makeError(ErrorCode::Io,
                             path.string() + ": cannot open: " + std::strerror(errno));
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
                return makeError(ErrorCode::Io,
                                 path.string() + ": mmap failed: " + std::strerror(err));
            }
            file->m_data = addr;
        }
        ::close(fd);
        return file;
    }
    ~MappedFile()
    {
        if (m_data)
            ::munmap(m_data, m_size);
    }
    MappedFile(const MappedFile &) = delete;
    MappedFile &operator=(const MappedFile &) = delete;

    const std::uint8_t *data() const { return static_cast<const std::uint8_t *>(m_data); }
    std::size_t size() const { return m_size; }

private:
    MappedFile() = default;
    void *m_data = nullptr;
    std::size_t m_size = 0;
};

// Domains whose ops must be in the ONNX schema registry; ops of any other
// domain (com.microsoft, custom) are kept and reported.
bool isStandardDomain(const std::string &domain)
{
    return domain.empty() || domain == "ai.onnx.ml" || domain == "ai.onnx.training" ||
           domain == "ai.onnx.preview.training";
}

std::string normalizeDomain(const std::string &domain)
{
    return domain == "ai.onnx" ? std::string() : domain;
}

std::string quoteName(const std::string &text)
{
    // Names from untrusted files: keep messages printable and bounded.
    std::string out = "'";
    std::size_t limit = 200;
    for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f)
            out += '?';
        else
            out += static_cast<char>(c);
    }
    if (text.size() > limit)
        out += "...";
    return out + "'";
}

struct Scope
{
    const Scope *parent = nullptr;
    std::unordered_set<std::string> names;
    bool has(const std::string &name) const
    {
        for (const Scope *s = this; s; s = s->parent)
            if (s->names.count(name))
                return true;
        return false;
    }
};

struct ImportContext
{
    std::string source; // file name (or "<memory>") prefixing every message
    fs::path baseDir;   // folder that external data locations resolve against
    std::shared_ptr<onnx::ModelProto> model;
    std::map<std::string, std::shared_ptr<MappedFile>> mappings; // canonical path -> map
    std::map<std::string, std::int64_t> opsets;
    std::map<std::string, int> customOps; // "domain::op" -> node count
    // The model file's mapping and where each top-level initializer's raw_data
    // lies in it: such tensors borrow the file's pages instead of the proto's copy.
    std::shared_ptr<MappedFile> file;
    std::unordered_map<const onnx::TensorProto *, std::pair<std::size_t, std::size_t>> rawInFile;
    // Converted (sub)graphs with the proto they came from, for the value_info merge.
    std::vector<std::pair<const onnx::GraphProto *, Graph *>> graphs;

    Error invalid(const std::string &message) const
    {
        return makeError(ErrorCode::InvalidInput, source + ": " + message);
    }
    Error unsupported(const std::string &message) const
    {
        return makeError(ErrorCode::Unsupported, source + ": " + message);
    }
};

bool validElementType(int type)
{
    return type >= 1 && type <= 16;
}

TensorInfo convertType(const onnx::TypeProto &type)
{
    TensorInfo info;
    const onnx::TypeProto_Tensor *tensor = nullptr;
    if (type.has_tensor_type()) {
        tensor = &type.tensor_type();
    } else if (type.has_sequence_type() || type.has_optional_type()) {
        // Sequences and optionals: the kind and the element type of the
        // tensors inside; their shapes vary per element, so none is kept.
        const onnx::TypeProto *inner = &type;
        if (type.has_optional_type()) {
            info.kind = ValueKind::Optional;
            inner = &type.optional_type().elem_type();
            if (inner->has_sequence_type()) {
                info.optionalOf = ValueKind::Sequence;
                inner = &inner->sequence_type().elem_type();
            }
        } else {
            info.kind = ValueKind::Sequence;
            inner = &type.sequence_type().elem_type();
        }
        if (inner->has_tensor_type() && validElementType(inner->tensor_type().elem_type()))
            info.type = static_cast<ElementType>(inner->tensor_type().elem_type());
        return info;
    }
    if (!tensor)
        return info;
    if (validElementType(tensor->elem_type()))
        info.type = static_cast<ElementType>(tensor->elem_type());
    if (tensor->has_shape()) {
        info.shape.rankKnown = true;
        for (const auto &dim : tensor->shape().dim()) {
            if (dim.has_dim_value() && dim.dim_value() >= 0)
                info.shape.dims.push_back(Dim::known(dim.dim_value()));
            else if (dim.has_dim_param() && !dim.dim_param().empty())
                info.shape.dims.push_back(Dim::symbolic(dim.dim_param()));
            else
                info.shape.dims.push_back(Dim{});
        }
    }
    return info;
}

// Fills what `into` does not know from `from`: type, rank, unknown dims.
// Known values win over symbols, symbols over unknown.
void mergeInfo(TensorInfo &into, const TensorInfo &from)
{
    if (into.type == ElementType::Undefined)
        into.type = from.type;
    if (from.kind != ValueKind::Tensor) {
        into.kind = from.kind;
        into.optionalOf = from.optionalOf;
    }
    if (!from.shape.rankKnown)
        return;
    if (!into.shape.rankKnown) {
        into.shape = from.shape;
        return;
    }
    if (into.shape.rank() != from.shape.rank())
        return;
    for (std::size_t i = 0; i < into.shape.dims.size(); ++i) {
        Dim &dim = into.shape.dims[i];
        const Dim &other = from.shape.dims[i];
        if (!dim.isKnown() && other.isKnown())
            dim = other;
        else if (!dim.isKnown() && !dim.isSymbolic() && other.isSymbolic())
            dim = other;
    }
}

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

template <typename Dst, typename Src> std::vector<std::uint8_t> packAs(const Src &source)
{
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(source.size()) * sizeof(Dst));
    std::size_t i = 0;
    for (const auto &v : source) {
        Dst d = static_cast<Dst>(v);
        std::memcpy(bytes.data() + i * sizeof(Dst), &d, sizeof(Dst));
        ++i;
    }
    return bytes;
}

Result<std::shared_ptr<const TensorData>> convertTensor(ImportContext &ctx,
                                                        const onnx::TensorProto &tensor)
{
    const std::string &name = tensor.name();
    if (!validElementType(tensor.data_type()))
        return ctx.unsupported("tensor " + quoteName(name) + " has unsupported data type " +
                               std::to_string(tensor.data_type()));
    auto type = static_cast<ElementType>(tensor.data_type());
    std::vector<std::int64_t> dims(tensor.dims().begin(), tensor.dims().end());
    // Bound the element count so later byte arithmetic cannot overflow.
    constexpr std::int64_t kMaxElements = std::int64_t{1} << 48;
    std::int64_t count = 1;
    for (std::int64_t d : dims) {
        if (d < 0)
            return ctx.invalid("tensor " + quoteName(name) + " has a negative dimension " +
                               std::to_string(d));
        if (d != 0 && count > kMaxElements / d)
            return ctx.invalid("tensor " + quoteName(name) + " has an absurd element count");
        count *= d;
    }
    if (tensor.has_segment())
        return ctx.unsupported("tensor " + quoteName(name) +
                               " is segmented; segments are not supported");
    const std::size_t elemSize = elementSize(type);
    const std::uint64_t expectedBytes = static_cast<std::uint64_t>(count) * elemSize;

    if (tensor.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
        return loadExternal(ctx, tensor, type, std::move(dims), expectedBytes);

    if (type == ElementType::String) {
        if (tensor.string_data_size() != count)
            return ctx.invalid("tensor " + quoteName(name) + " has " +
                               std::to_string(tensor.string_data_size()) + " strings for " +
                               std::to_string(count) + " elements");
        auto data = TensorData::fromBytes(type, std::move(dims), {});
        data->strings.assign(tensor.string_data().begin(), tensor.string_data().end());
        return std::shared_ptr<const TensorData>(std::move(data));
    }

    if (tensor.has_raw_data()) {
        const std::string &raw = tensor.raw_data();
        if (raw.size() != expectedBytes)
            return ctx.invalid("tensor " + quoteName(name) + " has " + std::to_string(raw.size()) +
                               " bytes of raw data but its shape " + std::to_string(count) + " x " +
                               elementTypeName(type) + " needs " + std::to_string(expectedBytes));
        if (auto it = ctx.rawInFile.find(&tensor); it != ctx.rawInFile.end() && ctx.file) {
            // Borrowed from the memory-mapped model file; the proto's copy is
            // released below (integer tensors keep it for shape inference).
            auto data =
                TensorData::fromShared(type, std::move(dims), std::shared_ptr<const void>(ctx.file),
                                       ctx.file->data() + it->second.first, it->second.second);
            if (type != ElementType::Int64 && type != ElementType::Int32)
                const_cast<onnx::TensorProto &>(tensor).clear_raw_data();
            return std::shared_ptr<const TensorData>(std::move(data));
        }
        // Borrowed: the bytes stay inside the parsed model, which the tensor keeps alive.
        return std::shared_ptr<const TensorData>(TensorData::fromShared(
            type, std::move(dims), std::shared_ptr<const void>(ctx.model), raw.data(), raw.size()));
    }

    // Typed fields: convert to little-endian bytes of the element type.
    std::vector<std::uint8_t> bytes;
    std::int64_t provided = 0;
    const std::int64_t complexFactor =
        (type == ElementType::Complex64 || type == ElementType::Complex128) ? 2 : 1;
    switch (type) {
    case ElementType::Float32:
    case ElementType::Complex64:
        provided = tensor.float_data_size();
        bytes = packAs<float>(tensor.float_data());
        break;
    case ElementType::Float64:
    case ElementType::Complex128:
        provided = tensor.double_data_size();
        bytes = packAs<double>(tensor.double_data());
        break;
    case ElementType::Int64:
        provided = tensor.int64_data_size();
        bytes = packAs<std::int64_t>(tensor.int64_data());
        break;
    case ElementType::UInt32:
        provided = tensor.uint64_data_size();
        bytes = packAs<std::uint32_t>(tensor.uint64_data());
        break;
    case ElementType::UInt64:
        provided = tensor.uint64_data_size();
        bytes = packAs<std::uint64_t>(tensor.uint64_data());
        break;
    case ElementType::Int32:
        provided = tensor.int32_data_size();
        bytes = packAs<std::int32_t>(tensor.int32_data());
        break;
    case ElementType::Int16:
        provided = tensor.int32_data_size();
        bytes = packAs<std::int16_t>(tensor.int32_data());
        break;
    case ElementType::UInt16:
    case ElementType::Float16:
    case ElementType::BFloat16:
        // float16/bfloat16 are stored as their 16-bit patterns in int32_data.
        provided = tensor.int32_data_size();
        bytes = packAs<std::uint16_t>(tensor.int32_data());
        break;
    case ElementType::Int8:
        provided = tensor.int32_data_size();
        bytes = packAs<std::int8_t>(tensor.int32_data());
        break;
    case ElementType::UInt8:
        provided = tensor.int32_data_size();
        bytes = packAs<std::uint8_t>(tensor.int32_data());
        break;
    case ElementType::Bool:
        provided = tensor.int32_data_size();
        bytes.resize(static_cast<std::size_t>(provided));
        for (int i = 0; i < tensor.int32_data_size(); ++i)
            bytes[static_cast<std::size_t>(i)] = tensor.int32_data(i) != 0 ? 1 : 0;
        break;
    case ElementType::String:
    case ElementType::Undefined:
        break;
    }
    if (provided != count * complexFactor)
        return ctx.invalid("tensor " + quoteName(name) + " has " + std::to_string(provided) +
                           " values for " + std::to_string(count) + " elements of " +
                           elementTypeName(type));
    return std::shared_ptr<const TensorData>(
        TensorData::fromBytes(type, std::move(dims), std::move(bytes)));
}

Result<std::shared_ptr<Graph>> convertGraph(ImportContext &ctx, const onnx::GraphProto &proto,
                                            const Scope *outer, const std::string &where);

// Converts the attributes of `proto` into `node`. Names that subgraphs read
// from enclosing scopes are appended to `outerNames`.
Status convertAttributes(ImportContext &ctx, const onnx::NodeProto &proto, Node &node,
                         const Scope &scope, std::vector<std::string> &outerNames)
{
    const std::string where = "node " + quoteName(node.name) + " (" + node.opType + ")";
    auto subgraph = [&](const onnx::GraphProto &g,
                        const std::string &attrName) -> Result<std::shared_ptr<const Graph>> {
        SB_ASSIGN_OR_RETURN(
            std::shared_ptr<Graph> converted,
            convertGraph(ctx, g, &scope, where + " attribute " + quoteName(attrName)));
        // Captured values: present in the subgraph, produced by nobody in it.
        for (const Value &value : converted->values())
            if (value.producer == kNoNode && !value.isGraphInput && !value.initializer)
                outerNames.push_back(value.name);
        return std::shared_ptr<const Graph>(std::move(converted));
    };
    for (const auto &a : proto.attribute()) {
        if (a.name().empty())
            return ctx.invalid(where + " has an attribute without a name");
        Attribute attr;
        using AT = onnx::AttributeProto;
        AT::AttributeType type = a.type();
        if (type == AT::UNDEFINED) {
            // Old exporters leave `type` unset; infer it from the field present.
            if (a.has_f())
                type = AT::FLOAT;
            else if (a.has_i())
                type = AT::INT;
            else if (a.has_s())
                type = AT::STRING;
            else if (a.has_t())
                type = AT::TENSOR;
            else if (a.has_g())
                type = AT::GRAPH;
            else if (a.floats_size())
                type = AT::FLOATS;
            else if (a.ints_size())
                type = AT::INTS;
            else if (a.strings_size())
                type = AT::STRINGS;
            else if (a.tensors_size())
                type = AT::TENSORS;
            else if (a.graphs_size())
                type = AT::GRAPHS;
        }
        switch (type) {
        case AT::FLOAT:
            attr.kind = Attribute::Kind::Float;
            attr.f = a.f();
            break;
        case AT::INT:
            attr.kind = Attribute::Kind::Int;
            attr.i = a.i();
            break;
        case AT::STRING:
            attr.kind = Attribute::Kind::String;
            attr.s = a.s();
            break;
        case AT::TENSOR: {
            attr.kind = Attribute::Kind::Tensor;
            auto tensor = convertTensor(ctx, a.t());
            if (!tensor)
                return tensor.error().withContext(where + " attribute " + quoteName(a.name()));
            attr.tensor = *tensor;
            break;
        }
        case AT::GRAPH: {
            attr.kind = Attribute::Kind::Graph;
            SB_ASSIGN_OR_RETURN(attr.graph, subgraph(a.g(), a.name()));
            break;
        }
        case AT::FLOATS:
            attr.kind = Attribute::Kind::Floats;
            attr.floats.assign(a.floats().begin(), a.floats().end());
            break;
        case AT::INTS:
            attr.kind = Attribute::Kind::Ints;
            attr.ints.assign(a.ints().begin(), a.ints().end());
            break;
        case AT::STRINGS:
            attr.kind = Attribute::Kind::Strings;
            attr.strings.assign(a.strings().begin(), a.strings().end());
            break;
        case AT::TENSORS:
            attr.kind = Attribute::Kind::Tensors;
            for (const auto &t : a.tensors()) {
                auto tensor = convertTensor(ctx, t);
                if (!tensor)
                    return tensor.error().withContext(where + " attribute " + quoteName(a.name()));
                attr.tensors.push_back(*tensor);
            }
            break;
        case AT::GRAPHS:
            attr.kind = Attribute::Kind::Graphs;
            for (const auto &g : a.graphs()) {
                SB_ASSIGN_OR_RETURN(auto converted, subgraph(g, a.name()));
                attr.graphs.push_back(std::move(converted));
            }
            break;
        case AT::TYPE_PROTO:
            attr.kind = Attribute::Kind::Type;
            attr.type = convertType(a.tp());
            break;
        default:
            // Sparse tensors: kept by name, no payload.
            attr.kind = Attribute::Kind::Undefined;
            break;
        }
        node.attributes[a.name()] = std::move(attr);
    }
    return Status::success();
}

// Finds a cycle among the nodes Kahn's algorithm could not emit and returns it
// as "a -> b -> a".
std::string describeCycle(const std::vector<Node> &nodes,
                          const std::vector<std::vector<int>> &preds,
                          const std::vector<int> &indegree)
{
    int start = -1;
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (indegree[i] > 0) {
            start = static_cast<int>(i);
            break;
        }
    if (start < 0)
        return {};
    // Walk predecessors that are also stuck; after N steps we are on a cycle.
    std::vector<int> order;
    std::vector<int> seenAt(nodes.size(), -1);
    int current = start;
    while (seenAt[static_cast<std::size_t>(current)] < 0) {
        seenAt[static_cast<std::size_t>(current)] = static_cast<int>(order.size());
        order.push_back(current);
        int next = -1;
        for (int p : preds[static_cast<std::size_t>(current)])
            if (indegree[static_cast<std::size_t>(p)] > 0) {
                next = p;
                break;
            }
        if (next < 0)
            return quoteName(nodes[static_cast<std::size_t>(current)].name);
        current = next;
    }
    std::vector<int> cycle(order.begin() + seenAt[static_cast<std::size_t>(current)], order.end());
    std::reverse(cycle.begin(), cycle.end()); // predecessor walk -> data-flow order
    std::string text;
    for (int n : cycle)
        text += quoteName(nodes[static_cast<std::size_t>(n)].name) + " -> ";
    text += quoteName(nodes[static_cast<std::size_t>(cycle.front())].name);
    return text;
}

Result<std::shared_ptr<Graph>> convertGraph(ImportContext &ctx, const onnx::GraphProto &proto,
                                            const Scope *outer, const std::string &where)
{
    auto graph = std::make_shared<Graph>();
    graph->graphName = proto.name();
    const std::string prefix = where.empty() ? std::string() : where + ": subgraph: ";
    auto invalid = [&](const std::string &message) { return ctx.invalid(prefix + message); };

    std::unordered_map<std::string, ValueId> ids;
    auto addValue = [&](Value value) {
        std::string name = value.name;
        ValueId id = graph->addValue(std::move(value));
        ids[name] = id;
        return id;
    };

    // ---- initializers
    for (int i = 0; i < proto.initializer_size(); ++i) {
        const auto &init = proto.initializer(i);
        if (init.name().empty())
            return invalid("initializer #" + std::to_string(i) + " has no name");
        if (ids.count(init.name()))
            return invalid("initializer " + quoteName(init.name()) + " is defined twice");
        auto tensor = convertTensor(ctx, init);
        if (!tensor)
            return tensor.error().withContext(prefix.empty() ? std::string("initializer")
                                                             : prefix + "initializer");
        Value value;
        value.name = init.name();
        value.info.type = (*tensor)->type();
        value.info.shape.rankKnown = true;
        for (std::int64_t d : (*tensor)->dims())
            value.info.shape.dims.push_back(Dim::known(d));
        value.initializer = *tensor;
        addValue(std::move(value));
    }
    if (proto.sparse_initializer_size() > 0)
        return ctx.unsupported(prefix + "sparse initializers are not supported (" +
                               quoteName(proto.sparse_initializer(0).values().name()) + ")");

    // ---- graph inputs (old IR versions also list the initializers here)
    for (const auto &input : proto.input()) {
        if (input.name().empty())
            return invalid("a graph input has no name");
        TensorInfo info = convertType(input.type());
        if (auto it = ids.find(input.name()); it != ids.end()) {
            Value &existing = graph->mutableValues()[static_cast<std::size_t>(it->second)];
            if (!existing.initializer)
                return invalid("graph input " + quoteName(input.name()) + " is listed twice");
            mergeInfo(existing.info, info);
            continue;
        }
        Value value;
        value.name = input.name();
        value.info = info;
        ValueId id = addValue(std::move(value));
        graph->mutableInputs().push_back(id);
    }

    // ---- nodes: names, outputs
    std::vector<Node> nodes(static_cast<std::size_t>(proto.node_size()));
    std::unordered_set<std::string> usedNames;
    for (const auto &n : proto.node())
        if (!n.name().empty())
            usedNames.insert(n.name());
    std::unordered_set<std::string> assigned;
    for (int i = 0; i < proto.node_size(); ++i) {
        const auto &n = proto.node(i);
        Node &node = nodes[static_cast<std::size_t>(i)];
        node.opType = n.op_type();
        node.domain = normalizeDomain(n.domain());
        if (node.opType.empty())
            return invalid("node #" + std::to_string(i) + " " + quoteName(n.name()) +
                           " has no op type");
        std::string name = n.name();
        if (name.empty() || assigned.count(name)) {
            std::string base = name.empty() ? node.opType + "_" + std::to_string(i)
                                            : name + "_" + std::to_string(i);
            std::string candidate = base;
            for (int k = 1; usedNames.count(candidate) || assigned.count(candidate); ++k)
                candidate = base + "_" + std::to_string(k);
            if (!name.empty())
                graph->diagnostics.push_back("node name " + quoteName(name) +
                                             " is used twice; renamed the second to " +
                                             quoteName(candidate));
            name = candidate;
        }
        assigned.insert(name);
        node.name = name;
    }
    std::unordered_map<std::string, int> producerOf;
    for (int i = 0; i < proto.node_size(); ++i) {
        const auto &n = proto.node(i);
        Node &node = nodes[static_cast<std::size_t>(i)];
        for (const auto &out : n.output()) {
            if (out.empty()) {
                node.outputs.push_back(kNoValue);
                continue;
            }
            if (auto it = producerOf.find(out); it != producerOf.end())
                return invalid("value " + quoteName(out) + " is produced by two nodes, " +
                               quoteName(nodes[static_cast<std::size_t>(it->second)].name) +
                               " and " + quoteName(node.name));
            if (ids.count(out))
                return invalid("node " + quoteName(node.name) + " (" + node.opType + ") output " +
                               quoteName(out) + " redefines a graph input or initializer");
            producerOf[out] = i;
            Value value;
            value.name = out;
            node.outputs.push_back(addValue(std::move(value)));
        }
    }

    // Values visible to subgraphs: everything defined in this graph.
    Scope scope;
    scope.parent = outer;
    for (const auto &[name, id] : ids)
        scope.names.insert(name);

    auto resolve = [&](const std::string &name) -> std::optional<ValueId> {
        if (auto it = ids.find(name); it != ids.end())
            return it->second;
        if (outer && outer->has(name)) {
            // Captured from an enclosing graph: a value nobody here produces.
            Value value;
            value.name = name;
            return addValue(std::move(value));
        }
        return std::nullopt;
    };

    // ---- node inputs, attributes (subgraphs), op validation
    const auto *registry = onnx::OpSchemaRegistry::Instance();
    for (int i = 0; i < proto.node_size(); ++i) {
        const auto &n = proto.node(i);
        Node &node = nodes[static_cast<std::size_t>(i)];
        const std::string what = "node " + quoteName(node.name) + " (" + node.opType + ")";
        if (isStandardDomain(node.domain)) {
            auto opset = ctx.opsets.find(node.domain);
            if (opset == ctx.opsets.end())
                return invalid(what + ": the model imports no opset for domain " +
                               quoteName(node.domain.empty() ? "ai.onnx" : node.domain));
            int version = static_cast<int>(std::clamp<std::int64_t>(opset->second, 1, INT_MAX));
            if (!registry->GetSchema(node.opType, version, node.domain))
                return invalid(what + ": unknown op " + quoteName(node.opType) + " in domain " +
                               quoteName(node.domain.empty() ? "ai.onnx" : node.domain) +
                               " at opset " + std::to_string(opset->second));
        } else {
            ++ctx.customOps[node.domain + "::" + node.opType];
        }
        for (const auto &in : n.input()) {
            if (in.empty()) {
                node.inputs.push_back(kNoValue);
                continue;
            }
            auto id = resolve(in);
            if (!id)
                return invalid(what + " input " + quoteName(in) +
                               " is neither produced by a node, a graph input nor an initializer");
            node.inputs.push_back(*id);
        }
        std::vector<std::string> outerNames;
        SB_TRY(convertAttributes(ctx, n, node, scope, outerNames));
        std::set<ValueId> implicit;
        for (const auto &name : outerNames) {
            auto id = resolve(name);
            if (!id)
                return invalid(what + ": a subgraph reads " + quoteName(name) +
                               ", which no enclosing graph defines");
            implicit.insert(*id);
        }
        node.implicitInputs.assign(implicit.begin(), implicit.end());
    }

    // ---- graph outputs
    for (const auto &output : proto.output()) {
        if (output.name().empty())
            return invalid("a graph output has no name");
        auto id = resolve(output.name());
        if (!id)
            return invalid("graph output " + quoteName(output.name()) +
                           " is neither produced by a node, a graph input nor an initializer");
        mergeInfo(graph->mutableValues()[static_cast<std::size_t>(*id)].info,
                  convertType(output.type()));
        graph->mutableOutputs().push_back(*id);
    }
    for (const auto &info : proto.value_info())
        if (auto it = ids.find(info.name()); it != ids.end())
            mergeInfo(graph->mutableValues()[static_cast<std::size_t>(it->second)].info,
                      convertType(info.type()));

    // ---- topological sort (Kahn, stable: ties keep the file's order)
    const std::size_t count = nodes.size();
    std::vector<std::vector<int>> succs(count), preds(count);
    std::vector<int> indegree(count, 0);
    for (std::size_t i = 0; i < count; ++i) {
        std::set<int> deps;
        auto addDeps = [&](const std::vector<ValueId> &values) {
            for (ValueId v : values) {
                if (v == kNoValue)
                    continue;
                auto it = producerOf.find(graph->value(v).name);
                if (it != producerOf.end())
                    deps.insert(it->second);
            }
        };
        addDeps(nodes[i].inputs);
        addDeps(nodes[i].implicitInputs);
        for (int d : deps) {
            if (d == static_cast<int>(i))
                return invalid("node " + quoteName(nodes[i].name) + " (" + nodes[i].opType +
                               ") reads its own output: the graph has a cycle");
            succs[static_cast<std::size_t>(d)].push_back(static_cast<int>(i));
            preds[i].push_back(d);
            ++indegree[i];
        }
    }
    std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
    for (std::size_t i = 0; i < count; ++i)
        if (indegree[i] == 0)
            ready.push(static_cast<int>(i));
    std::vector<int> order;
    order.reserve(count);
    while (!ready.empty()) {
        int n = ready.top();
        ready.pop();
        order.push_back(n);
        for (int s : succs[static_cast<std::size_t>(n)])
            if (--indegree[static_cast<std::size_t>(s)] == 0)
                ready.push(s);
    }
    if (order.size() != count)
        return invalid("the graph has a cycle: " + describeCycle(nodes, preds, indegree));

    std::vector<Node> &sorted = graph->mutableNodes();
    sorted.reserve(count);
    for (int n : order)
        sorted.push_back(std::move(nodes[static_cast<std::size_t>(n)]));
    graph->rebuildIndex();
    ctx.graphs.emplace_back(&proto, graph.get());
    return graph;
}

// Runs the ONNX checker node by node on the top-level graph (schema arity,
// attribute types, subgraphs). Our own checks ran first and gave precise
// messages; this catches what only the schemas know.
Status checkNodes(ImportContext &ctx, const onnx::ModelProto &model, const Graph &graph)
{
    onnx::checker::CheckerContext checker;
    checker.set_ir_version(
        static_cast<int>(std::clamp<std::int64_t>(model.ir_version(), 0, INT_MAX)));
    std::unordered_map<std::string, int> opsets;
    for (const auto &[domain, version] : ctx.opsets) {
        int v = static_cast<int>(std::clamp<std::int64_t>(version, 0, INT_MAX));
        opsets[domain] = v;
        if (domain.empty())
            opsets["ai.onnx"] = v;
    }
    checker.set_opset_imports(opsets);
    if (!ctx.baseDir.empty())
        checker.set_model_dir(ctx.baseDir.string());
    onnx::checker::LexicalScopeContext lexical;
    for (const Value &value : graph.values())
        lexical.add(value.name);
    const auto &g = model.graph();
    for (int i = 0; i < g.node_size(); ++i) {
        try {
            onnx::checker::check_node(g.node(i), checker, lexical);
        } catch (const std::exception &e) {
            std::string name =
                g.node(i).name().empty() ? "#" + std::to_string(i) : quoteName(g.node(i).name());
            std::string message = e.what();
            if (auto cut = message.find("\n\n==> Context"); cut != std::string::npos)
                message.resize(cut);
            return ctx.invalid("node " + name + " (" + g.node(i).op_type() +
                               "): ONNX checker: " + message);
        }
    }
    return Status::success();
}

void mergeInferredShapes(ImportContext &ctx)
{
    for (auto &entry : ctx.graphs) {
        const onnx::GraphProto *proto = entry.first;
        Graph *graph = entry.second;
        auto merge = [&](const onnx::ValueInfoProto &info) {
            if (auto id = graph->findValue(info.name()))
                mergeInfo(graph->mutableValues()[static_cast<std::size_t>(*id)].info,
                          convertType(info.type()));
        };
        for (const auto &info : proto->value_info())
            merge(info);
        for (const auto &info : proto->output())
            merge(info);
    }
}

// Puts the proto's top-level nodes in the IR's (sorted) order so shape
// inference, which walks nodes in file order, sees producers first.
void reorderProtoNodes(onnx::GraphProto &proto, const Graph &graph)
{
    std::unordered_map<std::string, int> position;
    for (std::size_t i = 0; i < graph.nodes().size(); ++i)
        position[graph.nodes()[i].name] = static_cast<int>(i);
    // Proto node names may be empty or duplicated; map by original index instead.
    std::vector<int> target(static_cast<std::size_t>(proto.node_size()), -1);
    bool sorted = true;
    std::unordered_set<std::string> defined;
    for (const auto &init : proto.initializer())
        defined.insert(init.name());
    for (const auto &in : proto.input())
        defined.insert(in.name());
    for (const auto &n : proto.node()) {
        for (const auto &in : n.input())
            if (!in.empty() && !defined.count(in))
                sorted = false;
        for (const auto &out : n.output())
            defined.insert(out);
    }
    if (sorted)
        return;
    // Stable Kahn order over the proto itself (already known to be acyclic).
    const int count = proto.node_size();
    std::unordered_map<std::string, int> producer;
    for (int i = 0; i < count; ++i)
        for (const auto &out : proto.node(i).output())
            if (!out.empty())
                producer[out] = i;
    std::vector<std::vector<int>> succs(static_cast<std::size_t>(count));
    std::vector<int> indegree(static_cast<std::size_t>(count), 0);
    for (int i = 0; i < count; ++i) {
        std::set<int> deps;
        for (const auto &in : proto.node(i).input())
            if (auto it = producer.find(in); it != producer.end() && it->second != i)
                deps.insert(it->second);
        for (int d : deps) {
            succs[static_cast<std::size_t>(d)].push_back(i);
            ++indegree[static_cast<std::size_t>(i)];
        }
    }
    std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
    for (int i = 0; i < count; ++i)
        if (indegree[static_cast<std::size_t>(i)] == 0)
            ready.push(i);
    std::vector<int> order;
    while (!ready.empty()) {
        int n = ready.top();
        ready.pop();
        order.push_back(n);
        for (int s : succs[static_cast<std::size_t>(n)])
            if (--indegree[static_cast<std::size_t>(s)] == 0)
                ready.push(s);
    }
    if (static_cast<int>(order.size()) != count)
        return; // implicit (subgraph) dependencies only; leave as is
    std::vector<onnx::NodeProto *> released(static_cast<std::size_t>(count));
    for (int i = count - 1; i >= 0; --i)
        released[static_cast<std::size_t>(i)] = proto.mutable_node()->ReleaseLast();
    for (int n : order)
        proto.mutable_node()->AddAllocated(released[static_cast<std::size_t>(n)]);
    (void)target;
    (void)position;
}

// ---- where raw_data lies in the serialized model (protobuf wire format)

bool readVarint(const std::uint8_t *&p, const std::uint8_t *end, std::uint64_t &value)
{
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return false;
        std::uint8_t byte = *p++;
        value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return true;
    }
    return false;
}

// Calls fn(field, begin, end) for every length-delimited field of the message
// in [p, end) and skips the others. False on malformed input.
template <typename Fn>
bool forEachLengthField(const std::uint8_t *p, const std::uint8_t *end, Fn &&fn)
{
    while (p < end) {
        std::uint64_t tag = 0;
        if (!readVarint(p, end, tag))
            return false;
        std::uint64_t field = tag >> 3;
        switch (tag & 7) {
        case 0: {
            std::uint64_t ignored;
            if (!readVarint(p, end, ignored))
                return false;
            break;
        }
        case 1:
            if (end - p < 8)
                return false;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return false;
            p += 4;
            break;
        case 2: {
            std::uint64_t length = 0;
            if (!readVarint(p, end, length) || length > static_cast<std::uint64_t>(end - p))
                return false;
            if (!fn(field, p, p + length))
                return false;
            p += length;
            break;
        }
        default:
            return false; // groups: not used by ONNX
        }
    }
    return true;
}

// (offset, size) of each top-level initializer's raw_data, in order; size_t(-1)
// offset when it has none. Empty when the layout is not the plain one.
std::vector<std::pair<std::size_t, std::size_t>> locateRawData(const std::uint8_t *data,
                                                               std::size_t size)
{
    std::vector<std::pair<std::size_t, std::size_t>> located;
    bool ok = forEachLengthField(
        data, data + size, [&](std::uint64_t field, const std::uint8_t *b, const std::uint8_t *e) {
            if (field != 7) // ModelProto.graph
                return true;
            return forEachLengthField(
                b, e, [&](std::uint64_t gField, const std::uint8_t *tb, const std::uint8_t *te) {
                    if (gField != 5) // GraphProto.initializer
                        return true;
                    std::pair<std::size_t, std::size_t> raw{static_cast<std::size_t>(-1), 0};
                    bool inner = forEachLengthField(
                        tb, te,
                        [&](std::uint64_t tField, const std::uint8_t *rb, const std::uint8_t *re) {
                            if (tField == 9) // TensorProto.raw_data (last one wins, as in parsing)
                                raw = {static_cast<std::size_t>(rb - data),
                                       static_cast<std::size_t>(re - rb)};
                            return true;
                        });
                    located.push_back(raw);
                    return inner;
                });
        });
    if (!ok)
        located.clear();
    return located;
}

// Maps each top-level initializer to its raw_data bytes in the file, after
// checking that the walk agrees with what protobuf parsed.
void mapRawDataToFile(ImportContext &ctx, std::string_view bytes)
{
    if (!ctx.file)
        return;
    const auto *base = reinterpret_cast<const std::uint8_t *>(bytes.data());
    auto located = locateRawData(base, bytes.size());
    const auto &inits = ctx.model->graph().initializer();
    // A model with several `graph` fields merges them; keep it simple and
    // borrow only when the walk matches one-to-one.
    if (static_cast<int>(located.size()) != inits.size())
        return;
    for (int i = 0; i < inits.size(); ++i) {
        const auto &tensor = inits.Get(i);
        const auto [offset, length] = located[static_cast<std::size_t>(i)];
        if (!tensor.has_raw_data() || offset == static_cast<std::size_t>(-1))
            continue;
        if (length != tensor.raw_data().size() ||
            std::memcmp(base + offset, tensor.raw_data().data(), length) != 0)
            return; // not the layout we think: borrow from the proto instead
    }
    for (int i = 0; i < inits.size(); ++i) {
        const auto &tensor = inits.Get(i);
        const auto [offset, length] = located[static_cast<std::size_t>(i)];
        if (tensor.has_raw_data() && offset != static_cast<std::size_t>(-1))
            ctx.rawInFile[&tensor] = {offset, length};
    }
}

Result<std::shared_ptr<Graph>> importModel(std::string_view bytes, const std::string &source,
                                           const fs::path &baseDir, const fs::path &modelPath,
                                           const ImportOptions &options,
                                           std::shared_ptr<MappedFile> file = {})
{
    ImportContext ctx;
    ctx.file = std::move(file);
    ctx.source = source;
    ctx.baseDir = baseDir;
    ctx.model = std::make_shared<onnx::ModelProto>();
    if (bytes.size() > static_cast<std::size_t>(INT_MAX))
        return ctx.unsupported(
            "the model file is larger than 2 GiB; store the weights as external data");
    if (!ctx.model->ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        return ctx.invalid(
            "not a valid ONNX model (protobuf parse failed: truncated or corrupt file)");
    onnx::ModelProto &model = *ctx.model;
    mapRawDataToFile(ctx, bytes);
    if (!model.has_graph())
        return ctx.invalid("not a valid ONNX model: it has no graph");
    if (model.ir_version() <= 0)
        return ctx.invalid("not a valid ONNX model: ir_version is missing or " +
                           std::to_string(model.ir_version()));
    for (const auto &opset : model.opset_import()) {
        std::string domain = normalizeDomain(opset.domain());
        if (opset.version() <= 0 || opset.version() > 100000)
            return ctx.invalid("opset import for domain " +
                               quoteName(domain.empty() ? "ai.onnx" : domain) + " has version " +
                               std::to_string(opset.version()));
        ctx.opsets[domain] = opset.version();
    }
    if (model.opset_import_size() == 0)
        ctx.opsets[""] = 1; // IR version 1/2 models predate opset imports

    SB_ASSIGN_OR_RETURN(std::shared_ptr<Graph> graph,
                        convertGraph(ctx, model.graph(), nullptr, {}));
    SB_TRY(checkNodes(ctx, model, *graph));

    if (options.runShapeInference) {
        try {
            reorderProtoNodes(*model.mutable_graph(), *graph);
            onnx::ShapeInferenceOptions inference(/*check_type=*/false, /*error_mode=*/0,
                                                  /*data_prop=*/true);
            onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                               inference);
            mergeInferredShapes(ctx);
        } catch (const std::exception &e) {
            std::string message = e.what();
            if (message.size() > 300)
                message = message.substr(0, 300) + "...";
            graph->diagnostics.push_back("shape inference stopped early: " + message);
            mergeInferredShapes(ctx);
        }
    }

    graph->irVersion = model.ir_version();
    graph->producerName = model.producer_name();
    graph->producerVersion = model.producer_version();
    graph->opsets = ctx.opsets;
    graph->modelPath = modelPath;
    graph->sourceModel = ctx.model;
    for (const auto &[op, count] : ctx.customOps)
        graph->diagnostics.push_back("custom op " + op + " (" + std::to_string(count) +
                                     " node(s)) has no ONNX schema; kept as is");
    if (options.groupBlocks)
        groupBlocks(*graph);
    graph->rebuildIndex();
    return graph;
}

// ---- shape inference under concrete bindings (inferBoundShapes)

struct IntTensor
{
    std::vector<std::int64_t> dims;
    std::vector<std::int64_t> values;
};

constexpr std::size_t kMaxFoldElements = 4096;

std::optional<IntTensor> tensorToInts(const onnx::TensorProto &t)
{
    if (t.data_type() != onnx::TensorProto_DataType_INT64 &&
        t.data_type() != onnx::TensorProto_DataType_INT32)
        return std::nullopt;
    if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
        return std::nullopt;
    IntTensor out;
    std::int64_t count = 1;
    for (auto d : t.dims()) {
        if (d < 0 || d > static_cast<std::int64_t>(kMaxFoldElements))
            return std::nullopt;
        count *= d;
        out.dims.push_back(d);
        if (count > static_cast<std::int64_t>(kMaxFoldElements))
            return std::nullopt;
    }
    bool is64 = t.data_type() == onnx::TensorProto_DataType_INT64;
    if (t.has_raw_data()) {
        std::size_t width = is64 ? 8 : 4;
        if (t.raw_data().size() != static_cast<std::size_t>(count) * width)
            return std::nullopt;
        for (std::int64_t i = 0; i < count; ++i) {
            if (is64) {
                std::int64_t v;
                std::memcpy(&v, t.raw_data().data() + i * 8, 8);
                out.values.push_back(v);
            } else {
                std::int32_t v;
                std::memcpy(&v, t.raw_data().data() + i * 4, 4);
                out.values.push_back(v);
            }
        }
    } else if (is64) {
        out.values.assign(t.int64_data().begin(), t.int64_data().end());
    } else {
        out.values.assign(t.int32_data().begin(), t.int32_data().end());
    }
    if (static_cast<std::int64_t>(out.values.size()) != count)
        return std::nullopt;
    return out;
}

std::int64_t countOf(const std::vector<std::int64_t> &dims)
{
    std::int64_t c = 1;
    for (auto d : dims)
        c *= d;
    return c;
}

// Evaluates one node on small int64 constants. `constants` holds the folded
// values, `shapes` the concrete shapes inference found.
std::optional<std::vector<IntTensor>>
foldNode(const onnx::NodeProto &node, const std::unordered_map<std::string, IntTensor> &constants,
         const std::unordered_map<std::string, std::vector<std::int64_t>> &shapes, int opset)
{
    if (!node.domain().empty() && node.domain() != "ai.onnx")
        return std::nullopt;
    const std::string &op = node.op_type();
    auto in = [&](int i) -> const IntTensor * {
        if (i >= node.input_size() || node.input(i).empty())
            return nullptr;
        auto it = constants.find(node.input(i));
        return it == constants.end() ? nullptr : &it->second;
    };
    auto intAttr = [&](const char *name, std::int64_t fallback) {
        for (const auto &a : node.attribute())
            if (a.name() == name && a.has_i())
                return a.i();
        return fallback;
    };
    auto intsAttr = [&](const char *name) -> std::optional<std::vector<std::int64_t>> {
        for (const auto &a : node.attribute())
            if (a.name() == name)
                return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
        return std::nullopt;
    };
    auto scalar = [](std::int64_t v) { return IntTensor{{}, {v}}; };
    auto vec = [](std::vector<std::int64_t> v) {
        IntTensor t;
        t.dims = {static_cast<std::int64_t>(v.size())};
        t.values = std::move(v);
        return t;
    };
    auto one = [](IntTensor t) -> std::optional<std::vector<IntTensor>> {
        if (t.values.size() > kMaxFoldElements)
            return std::nullopt;
        return std::vector<IntTensor>{std::move(t)};
    };

    if (op == "Constant") {
        for (const auto &a : node.attribute()) {
            if (a.name() == "value" && a.has_t())
                if (auto t = tensorToInts(a.t()))
                    return one(*t);
            if (a.name() == "value_int")
                return one(scalar(a.i()));
            if (a.name() == "value_ints")
                return one(vec({a.ints().begin(), a.ints().end()}));
        }
        return std::nullopt;
    }
    if (op == "Shape" || op == "Size") {
        if (node.input_size() < 1)
            return std::nullopt;
        auto it = shapes.find(node.input(0));
        if (it == shapes.end())
            return std::nullopt;
        const auto &dims = it->second;
        if (op == "Size")
            return one(scalar(countOf(dims)));
        auto rank = static_cast<std::int64_t>(dims.size());
        std::int64_t start = intAttr("start", 0), end = intAttr("end", rank);
        if (start < 0)
            start += rank;
        if (end < 0)
            end += rank;
        start = std::clamp<std::int64_t>(start, 0, rank);
        end = std::clamp<std::int64_t>(end, start, rank);
        return one(vec({dims.begin() + start, dims.begin() + end}));
    }
    if (op == "Identity") {
        if (const auto *x = in(0))
            return one(*x);
        return std::nullopt;
    }
    if (op == "Cast") {
        const auto *x = in(0);
        std::int64_t to = intAttr("to", 0);
        if (x && (to == onnx::TensorProto_DataType_INT64 || to == onnx::TensorProto_DataType_INT32))
            return one(*x);
        return std::nullopt;
    }
    if (op == "Gather") {
        const auto *data = in(0);
        const auto *indices = in(1);
        if (!data || !indices || data->dims.size() != 1 || intAttr("axis", 0) != 0)
            return std::nullopt;
        IntTensor out;
        out.dims = indices->dims;
        auto n = static_cast<std::int64_t>(data->values.size());
        for (auto i : indices->values) {
            if (i < 0)
                i += n;
            if (i < 0 || i >= n)
                return std::nullopt;
            out.values.push_back(data->values[static_cast<std::size_t>(i)]);
        }
        return one(std::move(out));
    }
    if (op == "Unsqueeze" || op == "Squeeze") {
        const auto *x = in(0);
        if (!x)
            return std::nullopt;
        std::optional<std::vector<std::int64_t>> axes;
        if (opset >= 13) {
            if (const auto *a = in(1))
                axes = a->values;
        } else {
            axes = intsAttr("axes");
        }
        IntTensor out = *x;
        if (op == "Unsqueeze") {
            if (!axes)
                return std::nullopt;
            auto rank = static_cast<std::int64_t>(x->dims.size() + axes->size());
            std::vector<std::int64_t> sorted;
            for (auto a : *axes)
                sorted.push_back(a < 0 ? a + rank : a);
            std::sort(sorted.begin(), sorted.end());
            for (auto a : sorted) {
                if (a < 0 || a > static_cast<std::int64_t>(out.dims.size()))
                    return std::nullopt;
                out.dims.insert(out.dims.begin() + a, 1);
            }
        } else {
            std::vector<std::int64_t> dims;
            auto rank = static_cast<std::int64_t>(x->dims.size());
            for (std::int64_t d = 0; d < rank; ++d) {
                bool drop = false;
                if (!axes)
                    drop = x->dims[static_cast<std::size_t>(d)] == 1;
                else
                    for (auto a : *axes)
                        if ((a < 0 ? a + rank : a) == d)
                            drop = true;
                if (!drop)
                    dims.push_back(x->dims[static_cast<std::size_t>(d)]);
            }
            out.dims = dims;
        }
        return one(std::move(out));
    }
    if (op == "Concat") {
        IntTensor out;
        for (int i = 0; i < node.input_size(); ++i) {
            const auto *x = in(i);
            if (!x || x->dims.size() != 1)
                return std::nullopt;
            out.values.insert(out.values.end(), x->values.begin(), x->values.end());
        }
        out.dims = {static_cast<std::int64_t>(out.values.size())};
        return one(std::move(out));
    }
    if (op == "Slice") {
        const auto *x = in(0);
        if (!x || x->dims.size() != 1)
            return std::nullopt;
        std::int64_t start = 0, end = 0, step = 1;
        if (opset >= 10) {
            const auto *s = in(1), *e = in(2), *st = in(4);
            if (!s || !e || s->values.size() != 1 || e->values.size() != 1)
                return std::nullopt;
            start = s->values[0];
            end = e->values[0];
            if (st) {
                if (st->values.size() != 1)
                    return std::nullopt;
                step = st->values[0];
            }
        } else {
            auto s = intsAttr("starts"), e = intsAttr("ends");
            if (!s || !e || s->size() != 1 || e->size() != 1)
                return std::nullopt;
            start = (*s)[0];
            end = (*e)[0];
        }
        if (step <= 0)
            return std::nullopt; // reverse slices do not occur in shape code
        auto n = static_cast<std::int64_t>(x->values.size());
        if (start < 0)
            start += n;
        if (end < 0)
            end += n;
        start = std::clamp<std::int64_t>(start, 0, n);
        end = std::clamp<std::int64_t>(end, 0, n);
        std::vector<std::int64_t> v;
        for (std::int64_t i = start; i < end; i += step)
            v.push_back(x->values[static_cast<std::size_t>(i)]);
        return one(vec(std::move(v)));
    }
    if (op == "Range") {
        const auto *s = in(0), *l = in(1), *d = in(2);
        if (!s || !l || !d || s->values.size() != 1 || l->values.size() != 1 ||
            d->values.size() != 1 || d->values[0] == 0)
            return std::nullopt;
        std::int64_t start = s->values[0], limit = l->values[0], delta = d->values[0];
        std::int64_t n =
            std::max<std::int64_t>(0, (limit - start + delta + (delta > 0 ? -1 : 1)) / delta);
        if (n > static_cast<std::int64_t>(kMaxFoldElements))
            return std::nullopt;
        std::vector<std::int64_t> v;
        for (std::int64_t i = 0; i < n; ++i)
            v.push_back(start + i * delta);
        return one(vec(std::move(v)));
    }
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
        const auto *a = in(0), *b = in(1);
        if (!a || !b)
            return std::nullopt;
        const IntTensor *big = a->values.size() >= b->values.size() ? a : b;
        if (a->values.size() != b->values.size() && a->values.size() != 1 && b->values.size() != 1)
            return std::nullopt;
        IntTensor out;
        out.dims = big->dims.size() >= (big == a ? b : a)->dims.size() ? big->dims
                                                                       : (big == a ? b : a)->dims;
        for (std::size_t i = 0; i < big->values.size(); ++i) {
            std::int64_t x = a->values[a->values.size() == 1 ? 0 : i];
            std::int64_t y = b->values[b->values.size() == 1 ? 0 : i];
            if (op == "Add")
                out.values.push_back(x + y);
            else if (op == "Sub")
                out.values.push_back(x - y);
            else if (op == "Mul")
                out.values.push_back(x * y);
            else {
                if (y == 0)
                    return std::nullopt;
                out.values.push_back(x / y);
            }
        }
        if (countOf(out.dims) != static_cast<std::int64_t>(out.values.size()))
            return std::nullopt;
        return one(std::move(out));
    }
    if (op == "Reshape") {
        const auto *x = in(0), *shape = in(1);
        if (!x || !shape)
            return std::nullopt;
        std::vector<std::int64_t> dims = shape->values;
        std::int64_t known = 1;
        int inferred = -1;
        for (std::size_t i = 0; i < dims.size(); ++i) {
            if (dims[i] == 0 && i < x->dims.size())
                dims[i] = x->dims[i];
            if (dims[i] == -1) {
                if (inferred >= 0)
                    return std::nullopt;
                inferred = static_cast<int>(i);
            } else if (dims[i] < 0) {
                return std::nullopt;
            } else {
                known *= dims[i];
            }
        }
        auto total = static_cast<std::int64_t>(x->values.size());
        if (inferred >= 0) {
            if (known == 0 || total % known)
                return std::nullopt;
            dims[static_cast<std::size_t>(inferred)] = total / known;
        } else if (known != total) {
            return std::nullopt;
        }
        return one(IntTensor{dims, x->values});
    }
    return std::nullopt;
}

void collectShapes(const onnx::GraphProto &g,
                   std::unordered_map<std::string, std::vector<std::int64_t>> &shapes)
{
    auto add = [&](const onnx::ValueInfoProto &info) {
        if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape())
            return;
        std::vector<std::int64_t> dims;
        for (const auto &d : info.type().tensor_type().shape().dim()) {
            if (!d.has_dim_value() || d.dim_value() < 0)
                return;
            dims.push_back(d.dim_value());
        }
        shapes[info.name()] = std::move(dims);
    };
    for (const auto &v : g.input())
        add(v);
    for (const auto &v : g.value_info())
        add(v);
    for (const auto &v : g.output())
        add(v);
    for (const auto &t : g.initializer())
        shapes[t.name()] = std::vector<std::int64_t>(t.dims().begin(), t.dims().end());
}

Result<BoundShapes> inferBoundShapesImpl(const Graph &graph,
                                         const std::map<std::string, std::int64_t> &symbols)
{
    BoundShapes result(graph.values().size());
    auto model = std::static_pointer_cast<const onnx::ModelProto>(graph.sourceModel);
    if (!model) {
        for (std::size_t i = 0; i < graph.values().size(); ++i) {
            const Shape &shape = graph.values()[i].info.shape;
            if (shape.isFullyKnown()) {
                std::vector<std::int64_t> dims;
                for (const auto &d : shape.dims)
                    dims.push_back(d.value);
                result[i] = std::move(dims);
            }
        }
        return result;
    }
    int opset = 1;
    for (const auto &o : model->opset_import())
        if (o.domain().empty() || o.domain() == "ai.onnx")
            opset = static_cast<int>(std::clamp<std::int64_t>(o.version(), 1, INT_MAX));

    // Structure only: small integer initializers keep their data (shape
    // computations read them); weights keep name, type and dims.
    onnx::ModelProto skeleton;
    skeleton.set_ir_version(model->ir_version());
    *skeleton.mutable_opset_import() = model->opset_import();
    const onnx::GraphProto &source = model->graph();
    onnx::GraphProto &g = *skeleton.mutable_graph();
    *g.mutable_node() = source.node();
    for (const auto &init : source.initializer()) {
        auto *t = g.add_initializer();
        if (tensorToInts(init)) {
            *t = init;
        } else {
            t->set_name(init.name());
            t->set_data_type(init.data_type());
            *t->mutable_dims() = init.dims();
        }
    }
    for (const auto &input : source.input()) {
        auto *v = g.add_input();
        *v = input;
        if (v->type().has_tensor_type() && v->type().tensor_type().has_shape())
            for (auto &dim :
                 *v->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim())
                if (dim.has_dim_param())
                    if (auto it = symbols.find(dim.dim_param()); it != symbols.end())
                        dim.set_dim_value(it->second);
    }
    for (const auto &output : source.output()) {
        auto *v = g.add_output();
        v->set_name(output.name());
        if (output.type().has_tensor_type())
            v->mutable_type()->mutable_tensor_type()->set_elem_type(
                output.type().tensor_type().elem_type());
    }

    std::unordered_map<std::string, IntTensor> constants;
    for (const auto &init : g.initializer())
        if (auto t = tensorToInts(init))
            constants[init.name()] = std::move(*t);
    std::unordered_map<std::string, std::vector<std::int64_t>> shapes;
    onnx::ShapeInferenceOptions options(false, 0, true);
    for (int round = 0; round < 8; ++round) {
        onnx::ModelProto work = skeleton;
        try {
            onnx::shape_inference::InferShapes(work, onnx::OpSchemaRegistry::Instance(), options);
        } catch (const std::exception &) {
            // Keep whatever inference recorded before it stopped.
        }
        shapes.clear();
        collectShapes(work.graph(), shapes);
        // Fold what is now computable; replace folded nodes by initializers.
        std::vector<int> folded;
        for (int i = 0; i < g.node_size(); ++i) {
            const auto &node = g.node(i);
            if (node.output_size() != 1 || node.output(0).empty())
                continue;
            auto outputs = foldNode(node, constants, shapes, opset);
            if (!outputs)
                continue;
            constants[node.output(0)] = outputs->front();
            folded.push_back(i);
        }
        if (folded.empty())
            break;
        std::unordered_set<int> drop(folded.begin(), folded.end());
        google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
        for (int i = 0; i < g.node_size(); ++i)
            if (!drop.count(i))
                *kept.Add() = g.node(i);
        for (int i : folded) {
            const std::string &name = g.node(i).output(0);
            const IntTensor &value = constants[name];
            auto *t = g.add_initializer();
            t->set_name(name);
            t->set_data_type(onnx::TensorProto_DataType_INT64);
            for (auto d : value.dims)
                t->add_dims(d);
            for (auto v : value.values)
                t->add_int64_data(v);
        }
        g.mutable_node()->Swap(&kept);
    }
    for (std::size_t i = 0; i < graph.values().size(); ++i) {
        auto it = shapes.find(graph.values()[i].name);
        if (it != shapes.end())
            result[i] = it->second;
    }
    return result;
}

template <typename Fn> Result<std::shared_ptr<Graph>> guarded(const std::string &source, Fn &&fn)
{
    try {
        return fn();
    } catch (const std::bad_alloc &) {
        return makeError(ErrorCode::InvalidInput,
                         source + ": out of memory while importing the model");
    } catch (const std::exception &e) {
        return makeError(ErrorCode::InvalidInput, source + ": import failed: " + e.what());
    } catch (...) {
        return makeError(ErrorCode::Internal, source + ": import failed with an unknown exception");
    }
}

} // namespace

Result<std::shared_ptr<Graph>> importOnnxFile(const std::filesystem::path &path,
                                              const ImportOptions &options)
{
    const std::string source = path.string();
    return guarded(source, [&]() -> Result<std::shared_ptr<Graph>> {
        std::error_code ec;
        auto status = fs::status(path, ec);
        if (ec || !fs::exists(status))
            return makeError(ErrorCode::NotFound, source + ": no such file");
        if (!fs::is_regular_file(status))
            return makeError(ErrorCode::InvalidInput, source + ": not a regular file");
        SB_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
        std::string_view bytes(reinterpret_cast<const char *>(file->data()), file->size());
        fs::path baseDir = path.parent_path();
        if (baseDir.empty())
            baseDir = ".";
        return importModel(bytes, source, baseDir, path, options, file);
    });
}

Result<std::shared_ptr<Graph>> importOnnxBytes(std::string_view bytes,
                                               const std::filesystem::path &baseDir,
                                               const ImportOptions &options)
{
    return guarded("<memory>", [&]() -> Result<std::shared_ptr<Graph>> {
        return importModel(bytes, "<memory>", baseDir, {}, options);
    });
}

Result<BoundShapes> inferBoundShapes(const Graph &graph,
                                     const std::map<std::string, std::int64_t> &symbols)
{
    try {
        return inferBoundShapesImpl(graph, symbols);
    } catch (const std::exception &e) {
        return makeError(ErrorCode::Internal, std::string("shape inference failed: ") + e.what());
    }
}

} // namespace sb::graph
