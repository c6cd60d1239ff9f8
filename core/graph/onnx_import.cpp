// ONNX import through Debian's libonnx. Everything protobuf/ONNX stays in
// core/graph's .cpp files and the private onnx_import_context.h; the boundary
// functions here catch every exception.
//
// Pipeline: parse ModelProto -> locate raw_data in the file (onnx_raw_data)
// -> convert (validating names, inputs, ops, tensors, external data:
// onnx_external_data) -> topological sort (Kahn, stable) -> ONNX checker per
// node -> ONNX shape inference on the proto, merged into the IR
// (onnx_shape_inference) -> blocks. Shapes under bound symbols:
// bound_shapes.h.
#include "core/graph/onnx_import.h"

#include "core/graph/blocks.h"
#include "core/graph/onnx_external_data.h"
#include "core/graph/onnx_import_context.h"
#include "core/graph/onnx_raw_data.h"
#include "core/graph/onnx_shape_inference.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
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

namespace detail {

std::vector<int> stableTopologicalOrder(const std::vector<std::vector<int>> &succs,
                                        std::vector<int> &indegree)
{
    std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
    for (std::size_t i = 0; i < indegree.size(); ++i)
        if (indegree[i] == 0)
            ready.push(static_cast<int>(i));
    std::vector<int> order;
    order.reserve(indegree.size());
    while (!ready.empty()) {
        int n = ready.top();
        ready.pop();
        order.push_back(n);
        for (int s : succs[static_cast<std::size_t>(n)])
            if (--indegree[static_cast<std::size_t>(s)] == 0)
                ready.push(s);
    }
    return order;
}

// ONNX TensorProto.DataType values the IR knows (FLOAT = 1 .. BFLOAT16 = 16).
bool validElementType(int type)
{
    return type >= 1 && type <= 16;
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

} // namespace detail

namespace {

namespace fs = std::filesystem;
using detail::convertType;
using detail::ImportContext;
using detail::loadExternal;
using detail::mapRawDataToFile;
using detail::mergeInfo;
using detail::quoteName;
using detail::validElementType;

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
    const std::vector<int> order = detail::stableTopologicalOrder(succs, indegree);
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

    if (options.runShapeInference)
        detail::inferShapesOnImport(ctx, *graph);
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

} // namespace sb::graph
