#include "core/cost/cost_model.h"

#include "core/graph/bound_shapes.h"

#include <charconv>
#include <set>
#include <unordered_set>

namespace sb::cost {

using graph::Graph;
using graph::Node;
using graph::NodeId;
using graph::Shape;
using graph::ValueId;

Cost &Cost::operator+=(const Cost &other)
{
    flops += other.flops;
    paramBytes += other.paramBytes;
    paramCount += other.paramCount;
    activationBytes += other.activationBytes;
    exact = exact && other.exact;
    return *this;
}

Result<std::pair<std::string, std::int64_t>> parseDimBinding(const std::string &text)
{
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        return makeError(ErrorCode::InvalidInput,
                         "dim binding '" + text + "' is not of the form NAME=VALUE");
    std::string name = text.substr(0, eq);
    std::string number = text.substr(eq + 1);
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (number.empty() || ec != std::errc() || end != number.data() + number.size() || value <= 0)
        return makeError(ErrorCode::InvalidInput, "dim binding '" + text + "': value '" + number +
                                                      "' is not a positive integer");
    return std::make_pair(name, value);
}

std::vector<std::string> batchSymbols(const Graph &graph)
{
    std::set<std::string> symbols;
    for (ValueId id : graph.inputs()) {
        const auto &value = graph.value(id);
        if (value.initializer || !value.info.shape.rankKnown || value.info.shape.dims.empty())
            continue;
        const auto &dim = value.info.shape.dims.front();
        if (dim.isSymbolic())
            symbols.insert(dim.symbol);
    }
    return {symbols.begin(), symbols.end()};
}

namespace {

using SymbolMap = std::map<std::string, std::int64_t>;

SymbolMap symbolValues(const Graph &graph, const DimBindings &bindings)
{
    SymbolMap values;
    if (bindings.batch)
        for (const auto &symbol : batchSymbols(graph))
            values[symbol] = *bindings.batch;
    for (const auto &[name, value] : bindings.dims)
        values[name] = value;
    return values;
}

std::optional<std::vector<std::int64_t>> resolveWith(const Shape &shape, const SymbolMap &symbols)
{
    if (!shape.rankKnown)
        return std::nullopt;
    std::vector<std::int64_t> dims;
    dims.reserve(shape.dims.size());
    for (const auto &dim : shape.dims) {
        if (dim.isKnown()) {
            dims.push_back(dim.value);
        } else if (dim.isSymbolic()) {
            auto it = symbols.find(dim.symbol);
            if (it == symbols.end())
                return std::nullopt;
            dims.push_back(it->second);
        } else {
            return std::nullopt;
        }
    }
    return dims;
}

double product(const std::vector<std::int64_t> &dims, std::size_t from = 0)
{
    double p = 1;
    for (std::size_t i = from; i < dims.size(); ++i)
        p *= static_cast<double>(dims[i]);
    return p;
}

bool isOneOf(const std::string &op, std::initializer_list<const char *> ops)
{
    for (const char *o : ops)
        if (op == o)
            return true;
    return false;
}

class NodeCoster
{
public:
    explicit NodeCoster(const std::vector<std::optional<std::vector<std::int64_t>>> &shapes)
        : m_shapes(shapes)
    {}

    std::optional<std::vector<std::int64_t>> shapeOf(ValueId id) const
    {
        if (id == graph::kNoValue)
            return std::nullopt;
        return m_shapes[static_cast<std::size_t>(id)];
    }
    std::optional<std::vector<std::int64_t>> input(const Node &node, std::size_t i) const
    {
        return i < node.inputs.size() ? shapeOf(node.inputs[i]) : std::nullopt;
    }
    std::optional<std::vector<std::int64_t>> output(const Node &node, std::size_t i) const
    {
        return i < node.outputs.size() ? shapeOf(node.outputs[i]) : std::nullopt;
    }
    bool hasInput(const Node &node, std::size_t i) const
    {
        return i < node.inputs.size() && node.inputs[i] != graph::kNoValue;
    }

    // FLOPs of one node; nullopt when the shapes it needs are unresolved.
    std::optional<double> flops(const Node &node) const
    {
        const std::string &op = node.opType;
        const bool onnxDomain = node.domain.empty();
        if (onnxDomain && isOneOf(op, {"Shape", "Size", "Reshape", "Flatten", "Squeeze",
                                       "Unsqueeze", "Identity", "Constant", "Dropout"}))
            return 0.0;
        if (onnxDomain && isOneOf(op, {"MatMul", "MatMulInteger", "QLinearMatMul"})) {
            auto a = input(node, 0);
            auto out = output(node, 0);
            if (!a || !out || a->empty())
                return std::nullopt;
            return 2.0 * static_cast<double>(a->back()) * product(*out);
        }
        if (onnxDomain && op == "Gemm") {
            auto a = input(node, 0);
            auto b = input(node, 1);
            if (!a || !b || a->size() != 2 || b->size() != 2)
                return std::nullopt;
            bool transA = node.intAttr("transA", 0) != 0;
            bool transB = node.intAttr("transB", 0) != 0;
            double m = static_cast<double>(transA ? (*a)[1] : (*a)[0]);
            double k = static_cast<double>(transA ? (*a)[0] : (*a)[1]);
            double n = static_cast<double>(transB ? (*b)[0] : (*b)[1]);
            return 2.0 * m * n * k + (hasInput(node, 2) ? m * n : 0.0);
        }
        if (onnxDomain && isOneOf(op, {"Conv", "ConvInteger", "QLinearConv"})) {
            // QLinearConv has its weight at input 3 and bias at input 8.
            std::size_t weightIndex = op == "QLinearConv" ? 3 : 1;
            std::size_t biasIndex = op == "QLinearConv" ? 8 : 2;
            auto w = input(node, weightIndex);
            auto out = output(node, 0);
            if (!w || !out || w->size() < 2)
                return std::nullopt;
            double outElems = product(*out);
            double macs = outElems * static_cast<double>((*w)[1]) * product(*w, 2);
            return 2.0 * macs + (hasInput(node, biasIndex) ? outElems : 0.0);
        }
        if (onnxDomain && isOneOf(op, {"RNN", "GRU", "LSTM"})) {
            // Every step multiplies the input and the hidden state by all
            // gates of every direction: 2 * seq * batch * W[0] * W[1] * (W[2] + R[2]).
            auto x = input(node, 0);
            auto w = input(node, 1);
            auto r = input(node, 2);
            if (!x || !w || !r || x->size() != 3 || w->size() != 3 || r->size() != 3 ||
                (*x)[2] == 0)
                return std::nullopt;
            double steps = product(*x) / static_cast<double>((*x)[2]); // seq * batch
            return 2.0 * steps * static_cast<double>((*w)[0]) * static_cast<double>((*w)[1]) *
                   static_cast<double>((*w)[2] + (*r)[2]);
        }
        if (onnxDomain && op == "ConvTranspose") {
            auto x = input(node, 0);
            auto w = input(node, 1);
            auto out = output(node, 0);
            if (!x || !w || w->size() < 2)
                return std::nullopt;
            double macs = product(*x) * static_cast<double>((*w)[1]) * product(*w, 2);
            double bias = 0;
            if (hasInput(node, 2)) {
                if (!out)
                    return std::nullopt;
                bias = product(*out);
            }
            return 2.0 * macs + bias;
        }
        if (onnxDomain &&
            (op.rfind("Reduce", 0) == 0 ||
             isOneOf(op, {"ArgMax", "ArgMin", "Softmax", "LogSoftmax", "Hardmax",
                          "BatchNormalization", "InstanceNormalization", "LayerNormalization",
                          "GroupNormalization", "LpNormalization", "MeanVarianceNormalization",
                          "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}))) {
            auto x = input(node, 0);
            if (!x)
                return std::nullopt;
            return product(*x);
        }
        if (onnxDomain && isOneOf(op, {"AveragePool", "MaxPool", "LpPool"})) {
            auto out = output(node, 0);
            if (!out)
                return std::nullopt;
            double kernel = 1;
            for (std::int64_t k : node.intsAttr("kernel_shape"))
                kernel *= static_cast<double>(k);
            return product(*out) * kernel;
        }
        double total = 0;
        for (std::size_t i = 0; i < node.outputs.size(); ++i) {
            if (node.outputs[i] == graph::kNoValue)
                continue;
            auto out = output(node, i);
            if (!out)
                return std::nullopt;
            total += product(*out);
        }
        return total;
    }

private:
    const std::vector<std::optional<std::vector<std::int64_t>>> &m_shapes;
};

} // namespace

std::optional<std::vector<std::int64_t>>
resolveShape(const graph::Shape &shape, const graph::Graph &graph, const DimBindings &bindings)
{
    return resolveWith(shape, symbolValues(graph, bindings));
}

Result<GraphCost> computeCost(const graph::Graph &graph, const DimBindings &bindings)
{
    if (bindings.batch && *bindings.batch <= 0)
        return makeError(ErrorCode::InvalidInput,
                         "batch size must be positive, got " + std::to_string(*bindings.batch));
    for (const auto &[name, value] : bindings.dims)
        if (value <= 0)
            return makeError(ErrorCode::InvalidInput,
                             "dim '" + name + "' must be positive, got " + std::to_string(value));

    const SymbolMap symbols = symbolValues(graph, bindings);
    GraphCost result;
    auto &shapes = result.valueShapes;
    shapes.resize(graph.values().size());
    bool missing = false;
    for (std::size_t v = 0; v < graph.values().size(); ++v) {
        shapes[v] = resolveWith(graph.values()[v].info.shape, symbols);
        missing = missing || !shapes[v];
    }
    if (missing && graph.sourceModel) {
        // Data-dependent shapes: re-infer with the symbols bound.
        auto bound = graph::inferBoundShapes(graph, symbols);
        if (bound)
            for (std::size_t v = 0; v < shapes.size(); ++v)
                if (!shapes[v] && (*bound)[v])
                    shapes[v] = (*bound)[v];
    }
    NodeCoster coster(shapes);
    result.nodes.resize(graph.nodes().size());
    std::vector<bool> charged(graph.values().size(), false);

    auto chargeParameter = [&](ValueId id, Cost &cost) {
        if (id == graph::kNoValue || charged[static_cast<std::size_t>(id)] ||
            !graph.isParameter(id))
            return;
        charged[static_cast<std::size_t>(id)] = true;
        const auto &tensor = *graph.value(id).initializer;
        cost.paramBytes += tensor.byteSize();
        cost.paramCount += static_cast<std::uint64_t>(tensor.elementCount());
    };

    for (std::size_t n = 0; n < graph.nodes().size(); ++n) {
        const Node &node = graph.nodes()[n];
        Cost &cost = result.nodes[n];
        for (ValueId in : node.inputs)
            chargeParameter(in, cost);
        for (ValueId in : node.implicitInputs)
            chargeParameter(in, cost);
        for (ValueId out : node.outputs) {
            if (out == graph::kNoValue)
                continue;
            const auto &value = graph.value(out);
            const auto &dims = shapes[static_cast<std::size_t>(out)];
            if (!dims) {
                cost.exact = false;
                continue;
            }
            cost.activationBytes +=
                static_cast<std::uint64_t>(product(*dims)) * graph::elementSize(value.info.type);
        }
        if (auto flops = coster.flops(node))
            cost.flops = *flops;
        else
            cost.exact = false;
        result.total += cost;
    }

    result.blocks.resize(graph.blocks().size());
    for (std::size_t b = 0; b < graph.blocks().size(); ++b)
        for (NodeId n : graph.blocks()[b].nodes)
            result.blocks[b] += result.nodes[static_cast<std::size_t>(n)];

    // Weights no node reads still count toward the model's parameters.
    for (std::size_t v = 0; v < graph.values().size(); ++v) {
        Cost unused;
        chargeParameter(static_cast<ValueId>(v), unused);
        result.total.paramBytes += unused.paramBytes;
        result.total.paramCount += unused.paramCount;
    }
    return result;
}

namespace {

// The int64 contents of a constant value (initializer or Constant node).
std::optional<std::vector<std::int64_t>> constantInts(const Graph &graph, ValueId id)
{
    if (id == graph::kNoValue)
        return std::nullopt;
    const auto &value = graph.value(id);
    std::shared_ptr<const graph::TensorData> tensor = value.initializer;
    if (!tensor && value.producer != graph::kNoNode) {
        const Node &producer = graph.node(value.producer);
        if (producer.opType == "Constant" && producer.domain.empty()) {
            if (const auto *attr = producer.attribute("value");
                attr && attr->kind == graph::Attribute::Kind::Tensor)
                tensor = attr->tensor;
        }
    }
    if (!tensor || tensor->type() != graph::ElementType::Int64 || !tensor->data())
        return std::nullopt;
    auto span = tensor->as<std::int64_t>();
    return std::vector<std::int64_t>(span.begin(), span.end());
}

} // namespace

bool batchIsSymbolicThroughout(const graph::Graph &graph, std::string *reason)
{
    auto fail = [&](std::string why) {
        if (reason)
            *reason = std::move(why);
        return false;
    };
    bool anyBatched = false;
    for (ValueId id : graph.inputs()) {
        const auto &value = graph.value(id);
        if (!value.info.shape.rankKnown || value.info.shape.dims.empty())
            continue;
        const auto &dim = value.info.shape.dims.front();
        if (dim.isKnown())
            return fail("input '" + value.name + "' has a fixed batch dim " +
                        std::to_string(dim.value) + " (shape " + value.info.shape.toString() + ")");
        anyBatched = true;
    }
    if (!anyBatched)
        return fail("no graph input has a batch dim");
    const auto symbols = batchSymbols(graph);
    const std::unordered_set<std::string> batch(symbols.begin(), symbols.end());
    for (const Node &node : graph.nodes()) {
        if (!node.domain.empty() || (node.opType != "Reshape" && node.opType != "Expand") ||
            node.inputs.size() < 2)
            continue;
        const auto &data = graph.value(node.inputs[0]);
        if (!data.info.shape.rankKnown || data.info.shape.dims.empty() ||
            !data.info.shape.dims.front().isSymbolic() ||
            !batch.count(data.info.shape.dims.front().symbol))
            continue;
        auto target = constantInts(graph, node.inputs[1]);
        if (!target || target->empty() || target->front() <= 0)
            continue;
        if (node.opType == "Expand" && target->front() == 1)
            continue; // Expand broadcasts 1 to the input's dim: no batch is fixed
        return fail("node '" + node.name + "' (" + node.opType + ") has a constant target shape " +
                    "starting with " + std::to_string(target->front()) + " while its input '" +
                    data.name + "' has the symbolic batch dim '" +
                    data.info.shape.dims.front().symbol + "'");
    }
    if (reason)
        reason->clear();
    return true;
}

} // namespace sb::cost
