// Graph IR: the model as Shardbench sees it after import.
//
// Contract:
//  - nodes() is in topological order (the importer sorts and rejects cycles).
//  - Every tensor is a Value identified by a dense ValueId; a node input of
//    kNoValue is an omitted optional input ("" in ONNX).
//  - Shapes keep symbolic dims by name (Dim::symbol, e.g. "batch"); a dim is
//    either known (value >= 0), symbolic (symbol non-empty) or unknown.
//  - Initializer bytes are shared, never copied needlessly: TensorData points
//    into the parsed protobuf or into a memory-mapped external-data file.
//  - A Graph is immutable after import except through the explicit mutators
//    (used by graph passes such as fusions), and safe to read from many threads.
#pragma once

#include "core/common/result.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sb::graph {

// Same numbering as onnx::TensorProto_DataType.
enum class ElementType : int
{
    Undefined = 0,
    Float32 = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Float64 = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
};

const char *elementTypeName(ElementType type); // "float32", "int64", ...
std::size_t elementSize(ElementType type);     // bytes per element; 0 for String/Undefined

struct Dim
{
    std::int64_t value = -1; // >= 0 when known
    std::string symbol;      // non-empty when symbolic ("batch", "seq")

    bool isKnown() const { return value >= 0; }
    bool isSymbolic() const { return value < 0 && !symbol.empty(); }
    static Dim known(std::int64_t v) { return Dim{v, {}}; }
    static Dim symbolic(std::string s) { return Dim{-1, std::move(s)}; }
    bool operator==(const Dim &) const = default;
};

struct Shape
{
    bool rankKnown = false;
    std::vector<Dim> dims;

    std::size_t rank() const { return dims.size(); }
    bool isFullyKnown() const;
    // Element count when every dim is known, else nullopt.
    std::optional<std::int64_t> elementCount() const;
    std::string toString() const; // "[batch,3,224,224]" or "?" when rank unknown
    bool operator==(const Shape &) const = default;
};

// What a value holds: a tensor (almost always), a sequence of tensors, or an
// optional (a tensor or a sequence, or none), as ONNX's TypeProto says.
enum class ValueKind : int
{
    Tensor = 0,
    Sequence = 1,
    Optional = 2
};
const char *valueKindName(ValueKind kind); // "tensor", "sequence", "optional"

struct TensorInfo
{
    // For sequences and optionals: the element type of the tensors inside;
    // `shape` is then the shape of those tensors when declared.
    ElementType type = ElementType::Undefined;
    Shape shape;
    ValueKind kind = ValueKind::Tensor;
    // Optional only: what it holds when present (Tensor or Sequence).
    ValueKind optionalOf = ValueKind::Tensor;
};

// Constant tensor bytes (initializers, Constant attributes). Little-endian,
// row-major, exactly as ONNX stores raw_data. Strings are kept in `strings`.
class TensorData
{
public:
    TensorData() = default;
    // Owns a copy of the given bytes.
    static std::shared_ptr<TensorData> fromBytes(ElementType type, std::vector<std::int64_t> dims,
                                                 std::vector<std::uint8_t> bytes);
    // Borrows `size` bytes at `data`, keeping `owner` (a parsed proto, an mmap) alive.
    static std::shared_ptr<TensorData> fromShared(ElementType type, std::vector<std::int64_t> dims,
                                                  std::shared_ptr<const void> owner,
                                                  const void *data, std::size_t size);

    ElementType type() const { return m_type; }
    const std::vector<std::int64_t> &dims() const { return m_dims; }
    std::int64_t elementCount() const;
    std::size_t byteSize() const { return m_size; }
    const void *data() const { return m_data; }
    template <typename T> std::span<const T> as() const
    {
        return {static_cast<const T *>(m_data), m_size / sizeof(T)};
    }
    std::vector<std::string> strings; // only for ElementType::String

private:
    ElementType m_type = ElementType::Undefined;
    std::vector<std::int64_t> m_dims;
    std::vector<std::uint8_t> m_owned;
    std::shared_ptr<const void> m_owner;
    const void *m_data = nullptr;
    std::size_t m_size = 0;
};

class Graph;

struct Attribute
{
    enum class Kind
    {
        Undefined,
        Float,
        Int,
        String,
        Tensor,
        Graph,
        Floats,
        Ints,
        Strings,
        Tensors,
        Graphs,
        Type
    };
    Kind kind = Kind::Undefined;
    float f = 0.0f;
    std::int64_t i = 0;
    std::string s;
    std::shared_ptr<const TensorData> tensor;
    std::shared_ptr<const Graph> graph;
    std::vector<float> floats;
    std::vector<std::int64_t> ints;
    std::vector<std::string> strings;
    std::vector<std::shared_ptr<const TensorData>> tensors;
    std::vector<std::shared_ptr<const Graph>> graphs;
    TensorInfo type; // Kind::Type (a TypeProto, e.g. Optional's `type`)
};

using ValueId = std::int32_t;
using NodeId = std::int32_t;
inline constexpr ValueId kNoValue = -1;
inline constexpr NodeId kNoNode = -1;

struct Value
{
    std::string name;
    TensorInfo info;
    NodeId producer = kNoNode; // kNoNode for graph inputs and initializers
    // Nodes reading this value (as an input or, for nodes with subgraphs, as
    // an implicit input), in topological order.
    std::vector<NodeId> consumers;
    bool isGraphInput = false;
    bool isGraphOutput = false;
    std::shared_ptr<const TensorData> initializer; // set for weights/constants
};

struct Node
{
    std::string name;   // unique within the graph (importer names unnamed nodes)
    std::string opType; // "MatMul"
    std::string domain; // "" for the default ONNX domain
    std::map<std::string, Attribute> attributes;
    std::vector<ValueId> inputs;  // kNoValue for omitted optional inputs
    std::vector<ValueId> outputs; // kNoValue for omitted optional outputs
    std::int32_t block = -1;      // index into Graph::blocks()
    // Outer-scope values read by this node's subgraph attributes (If/Loop/Scan
    // bodies). They order the node after their producers like real inputs.
    std::vector<ValueId> implicitInputs;

    const Attribute *attribute(const std::string &name) const;
    std::int64_t intAttr(const std::string &name, std::int64_t fallback) const;
    float floatAttr(const std::string &name, float fallback) const;
    std::string stringAttr(const std::string &name, const std::string &fallback) const;
    std::vector<std::int64_t> intsAttr(const std::string &name) const;
};

// A group of nodes shown and planned as one unit (a transformer layer, a
// residual stage), found from exporter name scopes; single nodes otherwise.
struct Block
{
    std::string name;          // "/blocks.3" or the node name for singletons
    std::vector<NodeId> nodes; // in topological order, contiguous in it where possible
};

class Graph
{
public:
    // ---- model metadata
    std::int64_t irVersion = 0;
    std::string producerName;
    std::string producerVersion;
    std::string graphName;
    std::map<std::string, std::int64_t> opsets; // domain ("" = ai.onnx) -> version
    std::filesystem::path modelPath;            // empty for in-memory models
    // Opaque handle to the parsed source model (the importer's onnx::ModelProto),
    // kept so shapes can be re-inferred under concrete dim bindings
    // (inferBoundShapes in bound_shapes.h). Null for hand-built graphs.
    std::shared_ptr<const void> sourceModel;

    // ---- structure
    const std::vector<Node> &nodes() const { return m_nodes; }
    const std::vector<Value> &values() const { return m_values; }
    const std::vector<ValueId> &inputs() const { return m_inputs; } // excludes initializers
    const std::vector<ValueId> &outputs() const { return m_outputs; }
    const std::vector<Block> &blocks() const { return m_blocks; }
    const Node &node(NodeId id) const { return m_nodes[static_cast<std::size_t>(id)]; }
    const Value &value(ValueId id) const { return m_values[static_cast<std::size_t>(id)]; }
    std::optional<ValueId> findValue(const std::string &name) const;
    std::optional<NodeId> findNode(const std::string &name) const;

    // Sum of parameter bytes and element counts (see isParameter).
    std::uint64_t parameterBytes() const;
    std::uint64_t parameterCount() const;
    // A parameter is any initializer (weights, biases, and the buffers the
    // exporter stores as initializers such as BatchNorm running statistics).
    // This is the count PyTorch-exported fixtures are checked against
    // (tests/data/models/manifest.json, "param_count_rule").
    bool isParameter(ValueId id) const;

    // Notes from import that are not errors: custom-domain ops kept, shape
    // inference failures, renamed nodes. Shown by `inspect`.
    std::vector<std::string> diagnostics;

    // ---- mutators (importer and graph passes). Callers keep topological order;
    // rebuildIndex() recomputes producers/consumers and name lookups.
    std::vector<Node> &mutableNodes() { return m_nodes; }
    std::vector<Value> &mutableValues() { return m_values; }
    std::vector<ValueId> &mutableInputs() { return m_inputs; }
    std::vector<ValueId> &mutableOutputs() { return m_outputs; }
    std::vector<Block> &mutableBlocks() { return m_blocks; }
    ValueId addValue(Value value);
    void rebuildIndex();

private:
    std::vector<Node> m_nodes;
    std::vector<Value> m_values;
    std::vector<ValueId> m_inputs;
    std::vector<ValueId> m_outputs;
    std::vector<Block> m_blocks;
    std::map<std::string, ValueId> m_valueByName;
    std::map<std::string, NodeId> m_nodeByName;
};

} // namespace sb::graph
