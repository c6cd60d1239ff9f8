#include "core/graph/graph.h"

#include <numeric>

namespace sb::graph {

const char *valueKindName(ValueKind kind)
{
    switch (kind) {
    case ValueKind::Tensor:
        return "tensor";
    case ValueKind::Sequence:
        return "sequence";
    case ValueKind::Optional:
        return "optional";
    }
    return "tensor";
}

const char *elementTypeName(ElementType type)
{
    switch (type) {
    case ElementType::Undefined:
        return "undefined";
    case ElementType::Float32:
        return "float32";
    case ElementType::UInt8:
        return "uint8";
    case ElementType::Int8:
        return "int8";
    case ElementType::UInt16:
        return "uint16";
    case ElementType::Int16:
        return "int16";
    case ElementType::Int32:
        return "int32";
    case ElementType::Int64:
        return "int64";
    case ElementType::String:
        return "string";
    case ElementType::Bool:
        return "bool";
    case ElementType::Float16:
        return "float16";
    case ElementType::Float64:
        return "float64";
    case ElementType::UInt32:
        return "uint32";
    case ElementType::UInt64:
        return "uint64";
    case ElementType::Complex64:
        return "complex64";
    case ElementType::Complex128:
        return "complex128";
    case ElementType::BFloat16:
        return "bfloat16";
    }
    return "unknown";
}

std::size_t elementSize(ElementType type)
{
    switch (type) {
    case ElementType::Bool:
    case ElementType::UInt8:
    case ElementType::Int8:
        return 1;
    case ElementType::UInt16:
    case ElementType::Int16:
    case ElementType::Float16:
    case ElementType::BFloat16:
        return 2;
    case ElementType::Int32:
    case ElementType::UInt32:
    case ElementType::Float32:
        return 4;
    case ElementType::Int64:
    case ElementType::UInt64:
    case ElementType::Float64:
    case ElementType::Complex64:
        return 8;
    case ElementType::Complex128:
        return 16;
    case ElementType::String:
    case ElementType::Undefined:
        return 0;
    }
    return 0;
}

bool Shape::isFullyKnown() const
{
    if (!rankKnown)
        return false;
    for (const Dim &dim : dims)
        if (!dim.isKnown())
            return false;
    return true;
}

std::optional<std::int64_t> Shape::elementCount() const
{
    if (!isFullyKnown())
        return std::nullopt;
    std::int64_t count = 1;
    for (const Dim &dim : dims)
        count *= dim.value;
    return count;
}

std::string Shape::toString() const
{
    if (!rankKnown)
        return "?";
    std::string text = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (i)
            text += ",";
        if (dims[i].isKnown())
            text += std::to_string(dims[i].value);
        else if (dims[i].isSymbolic())
            text += dims[i].symbol;
        else
            text += "?";
    }
    return text + "]";
}

std::shared_ptr<TensorData> TensorData::fromBytes(ElementType type, std::vector<std::int64_t> dims,
                                                  std::vector<std::uint8_t> bytes)
{
    auto tensor = std::make_shared<TensorData>();
    tensor->m_type = type;
    tensor->m_dims = std::move(dims);
    tensor->m_owned = std::move(bytes);
    tensor->m_data = tensor->m_owned.data();
    tensor->m_size = tensor->m_owned.size();
    return tensor;
}

std::shared_ptr<TensorData> TensorData::fromShared(ElementType type, std::vector<std::int64_t> dims,
                                                   std::shared_ptr<const void> owner,
                                                   const void *data, std::size_t size)
{
    auto tensor = std::make_shared<TensorData>();
    tensor->m_type = type;
    tensor->m_dims = std::move(dims);
    tensor->m_owner = std::move(owner);
    tensor->m_data = data;
    tensor->m_size = size;
    return tensor;
}

std::int64_t TensorData::elementCount() const
{
    return std::accumulate(m_dims.begin(), m_dims.end(), std::int64_t{1},
                           [](std::int64_t a, std::int64_t b) { return a * b; });
}

const Attribute *Node::attribute(const std::string &name) const
{
    auto it = attributes.find(name);
    return it == attributes.end() ? nullptr : &it->second;
}

std::int64_t Node::intAttr(const std::string &name, std::int64_t fallback) const
{
    const Attribute *attr = attribute(name);
    return attr && attr->kind == Attribute::Kind::Int ? attr->i : fallback;
}

float Node::floatAttr(const std::string &name, float fallback) const
{
    const Attribute *attr = attribute(name);
    return attr && attr->kind == Attribute::Kind::Float ? attr->f : fallback;
}

std::string Node::stringAttr(const std::string &name, const std::string &fallback) const
{
    const Attribute *attr = attribute(name);
    return attr && attr->kind == Attribute::Kind::String ? attr->s : fallback;
}

std::vector<std::int64_t> Node::intsAttr(const std::string &name) const
{
    const Attribute *attr = attribute(name);
    return attr && attr->kind == Attribute::Kind::Ints ? attr->ints : std::vector<std::int64_t>{};
}

std::optional<ValueId> Graph::findValue(const std::string &name) const
{
    auto it = m_valueByName.find(name);
    if (it == m_valueByName.end())
        return std::nullopt;
    return it->second;
}

std::optional<NodeId> Graph::findNode(const std::string &name) const
{
    auto it = m_nodeByName.find(name);
    if (it == m_nodeByName.end())
        return std::nullopt;
    return it->second;
}

bool Graph::isParameter(ValueId id) const
{
    if (id < 0 || static_cast<std::size_t>(id) >= m_values.size())
        return false;
    return m_values[static_cast<std::size_t>(id)].initializer != nullptr;
}

std::uint64_t Graph::parameterBytes() const
{
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < m_values.size(); ++i)
        if (isParameter(static_cast<ValueId>(i)))
            total += m_values[i].initializer->byteSize();
    return total;
}

std::uint64_t Graph::parameterCount() const
{
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < m_values.size(); ++i)
        if (isParameter(static_cast<ValueId>(i)))
            total += static_cast<std::uint64_t>(m_values[i].initializer->elementCount());
    return total;
}

ValueId Graph::addValue(Value value)
{
    auto id = static_cast<ValueId>(m_values.size());
    m_valueByName[value.name] = id;
    m_values.push_back(std::move(value));
    return id;
}

void Graph::rebuildIndex()
{
    m_valueByName.clear();
    m_nodeByName.clear();
    for (std::size_t i = 0; i < m_values.size(); ++i) {
        Value &value = m_values[i];
        value.producer = kNoNode;
        value.consumers.clear();
        value.isGraphInput = false;
        value.isGraphOutput = false;
        m_valueByName[value.name] = static_cast<ValueId>(i);
    }
    for (ValueId id : m_inputs)
        m_values[static_cast<std::size_t>(id)].isGraphInput = true;
    for (ValueId id : m_outputs)
        m_values[static_cast<std::size_t>(id)].isGraphOutput = true;
    for (std::size_t n = 0; n < m_nodes.size(); ++n) {
        const Node &node = m_nodes[n];
        m_nodeByName[node.name] = static_cast<NodeId>(n);
        auto consume = [&](ValueId in) {
            if (in == kNoValue)
                return;
            auto &consumers = m_values[static_cast<std::size_t>(in)].consumers;
            if (consumers.empty() || consumers.back() != static_cast<NodeId>(n))
                consumers.push_back(static_cast<NodeId>(n));
        };
        for (ValueId in : node.inputs)
            consume(in);
        // Outer-scope values a subgraph reads are consumed by its node.
        for (ValueId in : node.implicitInputs)
            consume(in);
        for (ValueId out : node.outputs)
            if (out != kNoValue)
                m_values[static_cast<std::size_t>(out)].producer = static_cast<NodeId>(n);
    }
}

} // namespace sb::graph
