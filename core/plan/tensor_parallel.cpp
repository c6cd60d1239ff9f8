#include "core/plan/tensor_parallel.h"

#include "core/graph/bound_shapes.h"
#include "core/runtime/tensor_parallel.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <set>

namespace sb::plan {

using graph::Graph;
using graph::Node;
using graph::NodeId;
using graph::ValueId;
using nlohmann::json;
using Dims = std::vector<std::int64_t>;

// ---- plan key

Result<std::vector<TensorParallelEntry>> parseTensorParallel(const json &list,
                                                             const std::string &source)
{
    if (!list.is_array())
        return makeError(ErrorCode::InvalidInput,
                         source + ": \"tensor_parallel\" must be an array");
    std::vector<TensorParallelEntry> entries;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const json &item = list[i];
        const std::string where = source + ": tensor_parallel[" + std::to_string(i) + "]";
        auto bad = [&](const std::string &what) {
            return makeError(ErrorCode::InvalidInput, where + ": " + what);
        };
        if (!item.is_object())
            return bad("must be an object {nodes, devices, mode}");
        TensorParallelEntry entry;
        for (const char *key : {"nodes", "devices"}) {
            auto it = item.find(key);
            if (it == item.end() || !it->is_array() || it->empty())
                return bad(std::string("\"") + key + "\" must be a non-empty array of strings");
            for (const json &name : *it) {
                if (!name.is_string())
                    return bad(std::string("\"") + key + "\" must be a non-empty array of strings");
                (std::string(key) == "nodes" ? entry.nodes : entry.devices)
                    .push_back(name.get<std::string>());
            }
        }
        auto mode = item.find("mode");
        if (mode == item.end() || !mode->is_string() || (*mode != "column" && *mode != "row"))
            return bad("\"mode\" must be \"column\" or \"row\"");
        entry.mode = mode->get<std::string>();
        entries.push_back(std::move(entry));
    }
    return entries;
}

json tensorParallelToJson(const std::vector<TensorParallelEntry> &entries)
{
    json list = json::array();
    for (const TensorParallelEntry &entry : entries)
        list.push_back({{"nodes", entry.nodes}, {"devices", entry.devices}, {"mode", entry.mode}});
    return list;
}

std::vector<TensorParallelGroup> tensorParallelGroups(const Graph &graph, const Plan &plan,
                                                      std::vector<TensorParallelProblem> *problems)
{
    auto problem = [&](std::string message, std::vector<std::string> nodes,
                       std::vector<std::string> devices) {
        if (problems)
            problems->push_back({std::move(message), std::move(nodes), std::move(devices)});
    };
    std::vector<TensorParallelGroup> groups;
    if (!plan.tensorParallel.is_array() || plan.tensorParallel.empty())
        return groups;
    auto entries = parseTensorParallel(plan.tensorParallel, "plan");
    if (!entries) {
        problem(entries.error().message, {}, {});
        return groups;
    }
    std::map<std::string, std::size_t> groupOf; // stage device -> index
    std::set<std::string> listed;
    for (std::size_t e = 0; e < entries->size(); ++e) {
        const TensorParallelEntry &entry = (*entries)[e];
        const std::string where = "tensor_parallel[" + std::to_string(e) + "] (" +
                                  entry.nodes.front() + (entry.nodes.size() > 1 ? ", ..." : "") +
                                  "): ";
        std::set<std::string> distinct(entry.devices.begin(), entry.devices.end());
        if (entry.devices.size() < 2) {
            problem(where + "a group needs at least 2 devices", entry.nodes, entry.devices);
            continue;
        }
        if (distinct.size() != entry.devices.size()) {
            problem(where + "a device is listed twice in the group", entry.nodes, entry.devices);
            continue;
        }
        bool devicesOk = true;
        for (const std::string &device : entry.devices)
            if (!plan.devices.find(device)) {
                problem(where + "device " + device + " is not in the plan's devices", entry.nodes,
                        {device});
                devicesOk = false;
            }
        if (!devicesOk)
            continue;
        for (const std::string &name : entry.nodes) {
            auto id = graph.findNode(name);
            if (!id) {
                problem(where + "node '" + name + "' is not in the model", {name}, {});
                continue;
            }
            const Node &node = graph.node(*id);
            if (node.opType != "MatMul" && node.opType != "Gemm") {
                problem(where + "node '" + name + "' is a " + node.opType +
                            "; only MatMul and Gemm nodes can be split",
                        {name}, {});
                continue;
            }
            if (!listed.insert(name).second) {
                problem(where + "node '" + name + "' is listed in two tensor-parallel entries",
                        {name}, {});
                continue;
            }
            auto assigned = plan.assignment.find(name);
            if (assigned == plan.assignment.end() || !distinct.count(assigned->second)) {
                problem(where + "node '" + name + "' is assigned to " +
                            (assigned == plan.assignment.end() ? std::string("no device")
                                                               : assigned->second) +
                            ", which is not in its group",
                        {name}, entry.devices);
                continue;
            }
            const std::string &stage = assigned->second;
            std::vector<std::string> order{stage};
            for (const std::string &device : entry.devices)
                if (device != stage)
                    order.push_back(device);
            auto found = groupOf.find(stage);
            if (found == groupOf.end()) {
                groupOf[stage] = groups.size();
                groups.push_back({stage, order, {}});
                found = groupOf.find(stage);
            }
            TensorParallelGroup &group = groups[found->second];
            std::set<std::string> have(group.devices.begin(), group.devices.end());
            if (have != distinct) {
                problem(where + "node '" + name + "' runs on " + stage +
                            ", whose tensor-parallel group is already another set of devices",
                        {name}, entry.devices);
                continue;
            }
            group.modes[*id] = entry.mode;
        }
    }
    groups.erase(std::remove_if(groups.begin(), groups.end(),
                                [](const TensorParallelGroup &g) { return g.modes.empty(); }),
                 groups.end());
    return groups;
}

std::map<std::string, std::vector<std::string>> tensorParallelDevices(const Plan &plan)
{
    std::map<std::string, std::vector<std::string>> groups;
    if (!plan.tensorParallel.is_array() || plan.tensorParallel.empty())
        return groups;
    auto entries = parseTensorParallel(plan.tensorParallel, "plan");
    if (!entries)
        return groups;
    for (const TensorParallelEntry &entry : *entries)
        for (const std::string &name : entry.nodes) {
            auto assigned = plan.assignment.find(name);
            if (assigned == plan.assignment.end() ||
                std::find(entry.devices.begin(), entry.devices.end(), assigned->second) ==
                    entry.devices.end() ||
                groups.count(assigned->second))
                continue;
            std::vector<std::string> order{assigned->second};
            for (const std::string &device : entry.devices)
                if (device != assigned->second)
                    order.push_back(device);
            groups[assigned->second] = order;
        }
    return groups;
}

// ---- sharding analysis

namespace {

struct Layout
{
    bool sharded = false;
    int axis = 0;
    Dims segments; // full sizes of the parts each shard holds 1/G of
    std::int64_t full() const { return std::accumulate(segments.begin(), segments.end(), 0LL); }
    bool operator==(const Layout &) const = default;
};

struct SliceConst
{
    NodeId node;
    std::size_t input;
    int axis;
    Dims segments;
};
struct ReplaceConst
{
    NodeId node;
    std::size_t input;
    Dims values; // per shard (already divided)
};
struct InsertBefore
{
    NodeId node;
    std::size_t input;
    std::string op; // "ShardShape" | "ShardSlice"
    int axis;
};

const std::set<std::string> &elementwiseOps()
{
    static const std::set<std::string> ops = {
        "Add",   "Sub",     "Mul",      "Div",       "Pow",         "Where",
        "Max",   "Min",     "Equal",    "Less",      "Greater",     "And",
        "Or",    "Xor",     "Sum",      "Mean",      "Relu",        "Erf",
        "Tanh",  "Sigmoid", "Gelu",     "Cast",      "Not",         "Sqrt",
        "Exp",   "Log",     "Neg",      "Abs",       "Identity",    "Reciprocal",
        "Floor", "Ceil",    "Softplus", "LeakyRelu", "Elu",         "HardSigmoid",
        "Sign",  "Clip",    "Dropout",  "IsNaN",     "LessOrEqual", "GreaterOrEqual",
        "Round", "Sin",     "Cos",      "HardSwish", "Mish",        "Selu"};
    return ops;
}

struct Analysis
{
    const Graph &graph;
    const std::vector<NodeId> &stageNodes;
    const TensorParallelGroup &group;
    std::int64_t parts;
    graph::BoundShapes bound;
    std::set<NodeId> inStage;

    std::map<ValueId, Layout> layout;
    std::vector<SliceConst> slices;
    std::vector<ReplaceConst> replaces;
    std::vector<InsertBefore> inserts;
    std::vector<std::pair<NodeId, std::size_t>> dropUnlessFirst;
    std::set<std::pair<NodeId, std::size_t>> needFull; // readers of the gathered value
    std::set<ValueId> reduced;
    std::set<NodeId> divided;
    std::map<std::string, std::int64_t> symbols; // bindings of symbolic dims for shapes
    bool propose = false;                        // choose modes for unlisted MatMul/Gemm
    std::map<NodeId, std::string> proposed;

    Layout of(ValueId v) const
    {
        auto it = layout.find(v);
        return it == layout.end() ? Layout{} : it->second;
    }

    std::shared_ptr<const graph::TensorData> constant(ValueId v) const
    {
        if (v == graph::kNoValue)
            return nullptr;
        const graph::Value &value = graph.value(v);
        if (value.initializer)
            return value.initializer;
        if (value.producer != graph::kNoNode) {
            const Node &producer = graph.node(value.producer);
            if (producer.opType == "Constant" && producer.domain.empty())
                if (const auto *attr = producer.attribute("value"); attr && attr->tensor)
                    return attr->tensor;
        }
        return nullptr;
    }

    std::optional<Dims> dims(ValueId v) const
    {
        if (v == graph::kNoValue)
            return std::nullopt;
        if (auto data = constant(v))
            return data->dims();
        if (static_cast<std::size_t>(v) < bound.size() && bound[static_cast<std::size_t>(v)])
            return *bound[static_cast<std::size_t>(v)];
        const graph::Shape &shape = graph.value(v).info.shape;
        if (!shape.rankKnown)
            return std::nullopt;
        Dims out;
        for (const graph::Dim &d : shape.dims) {
            if (d.isKnown())
                out.push_back(d.value);
            else if (d.isSymbolic() && symbols.count(d.symbol))
                out.push_back(symbols.at(d.symbol));
            else
                return std::nullopt;
        }
        return out;
    }

    std::optional<std::size_t> rank(ValueId v) const
    {
        if (auto d = dims(v))
            return d->size();
        const graph::Shape &shape = graph.value(v).info.shape;
        if (shape.rankKnown)
            return shape.dims.size();
        return std::nullopt;
    }

    Error fail(NodeId n, const std::string &why) const
    {
        const Node &node = graph.node(n);
        return makeError(ErrorCode::InvalidInput,
                         "tensor-parallel node '" + node.name + "' (" + node.opType + "): " + why);
    }

    // Segments for a column split producing `out` with N features: the sizes
    // of a Split on the last axis that follows (through bias/scale ops).
    Dims lookahead(ValueId out, std::int64_t n) const
    {
        ValueId cur = out;
        for (int step = 0; step < 4; ++step) {
            const graph::Value &value = graph.value(cur);
            std::vector<NodeId> readers;
            for (NodeId c : value.consumers)
                if (inStage.count(c))
                    readers.push_back(c);
            for (NodeId c : readers) {
                const Node &node = graph.node(c);
                if (node.opType != "Split" || node.inputs.empty() || node.inputs[0] != cur)
                    continue;
                auto r = rank(cur);
                if (!r)
                    break;
                auto axis = node.intAttr("axis", 0);
                if (axis < 0)
                    axis += static_cast<std::int64_t>(*r);
                if (axis != static_cast<std::int64_t>(*r) - 1)
                    continue;
                Dims sizes;
                if (node.inputs.size() > 1)
                    if (auto data = constant(node.inputs[1]);
                        data && data->type() == graph::ElementType::Int64)
                        sizes.assign(data->as<std::int64_t>().begin(),
                                     data->as<std::int64_t>().end());
                if (sizes.empty())
                    sizes = node.intsAttr("split");
                if (!sizes.empty() && std::accumulate(sizes.begin(), sizes.end(), 0LL) == n)
                    return sizes;
            }
            if (readers.size() != 1)
                break;
            const Node &node = graph.node(readers[0]);
            if (node.opType != "Add" && node.opType != "Mul" && node.opType != "Sub" &&
                node.opType != "Div")
                break;
            bool otherConst = false;
            for (ValueId in : node.inputs)
                if (in != cur && constant(in))
                    otherConst = true;
            if (!otherConst || node.outputs.empty())
                break;
            cur = node.outputs[0];
        }
        return {n};
    }

    Status checkSegments(NodeId n, const Dims &segments, const std::string &what) const
    {
        for (std::int64_t size : segments)
            if (size % parts != 0)
                return fail(n, what + " " + std::to_string(size) +
                                   " does not divide by the group size " + std::to_string(parts));
        return {};
    }

    void gatherInputs(NodeId n)
    {
        const Node &node = graph.node(n);
        for (std::size_t i = 0; i < node.inputs.size(); ++i)
            if (node.inputs[i] != graph::kNoValue && of(node.inputs[i]).sharded)
                needFull.insert({n, i});
    }

    struct SplitWeight
    {
        std::shared_ptr<const graph::TensorData> data; // [K, N] ([N, K] with transB)
        bool gemm = false;
        bool transB = false;
    };
    Result<SplitWeight> splitWeight(NodeId n) const
    {
        const Node &node = graph.node(n);
        auto weight = constant(node.inputs.size() > 1 ? node.inputs[1] : graph::kNoValue);
        if (!weight || weight->dims().size() != 2)
            return fail(n, "its weight (input 1) must be a 2-D constant to be split");
        const bool gemm = node.opType == "Gemm";
        if (gemm && node.intAttr("transA", 0) != 0)
            return fail(n, "Gemm with transA=1 cannot be split");
        return SplitWeight{weight, gemm, gemm && node.intAttr("transB", 0) != 0};
    }

    // Checks everything before changing any state (the planner tries splits).
    Status splitColumn(NodeId n)
    {
        const Node &node = graph.node(n);
        const ValueId a = node.inputs.at(0);
        SB_ASSIGN_OR_RETURN(const SplitWeight w, splitWeight(n));
        const bool gemm = w.gemm, transB = w.transB;
        const auto &weight = w.data;
        const std::int64_t features = weight->dims()[transB ? 0 : 1];
        auto outRank = rank(node.outputs[0]);
        if (!outRank)
            return fail(n, "the output's rank is unknown");
        Dims segments = lookahead(node.outputs[0], features);
        SB_TRY(checkSegments(n, segments, "output features"));
        std::optional<SliceConst> biasSlice;
        if (gemm && node.inputs.size() > 2 && node.inputs[2] != graph::kNoValue) {
            auto bias = constant(node.inputs[2]);
            if (!bias)
                return fail(n, "its bias (input C) must be a constant to be split");
            if (!bias->dims().empty() && bias->dims().back() == features)
                biasSlice = SliceConst{n, 2, static_cast<int>(bias->dims().size()) - 1, segments};
            else if (!bias->dims().empty() && bias->dims().back() != 1)
                return fail(n, "its bias (input C) does not broadcast over the split features");
        }
        if (of(a).sharded)
            needFull.insert({n, 0});
        slices.push_back({n, 1, transB ? 0 : 1, segments});
        if (biasSlice)
            slices.push_back(*biasSlice);
        layout[node.outputs[0]] = {true, static_cast<int>(*outRank) - 1, segments};
        divided.insert(n);
        return {};
    }

    Status splitRow(NodeId n)
    {
        const Node &node = graph.node(n);
        const ValueId a = node.inputs.at(0);
        SB_ASSIGN_OR_RETURN(const SplitWeight w, splitWeight(n));
        const bool gemm = w.gemm, transB = w.transB;
        const auto &weight = w.data;
        const std::int64_t features = weight->dims()[transB ? 1 : 0];
        SB_TRY(checkSegments(n, {features}, "input features"));
        auto aRank = rank(a);
        if (!aRank)
            return fail(n, "the input's rank is unknown");
        const Layout in = of(a);
        const bool ready = in.sharded && in.axis == static_cast<int>(*aRank) - 1 &&
                           in.segments.size() == 1 && in.full() == features;
        if (!ready) {
            if (in.sharded)
                needFull.insert({n, 0});
            inserts.push_back({n, 0, "ShardSlice", static_cast<int>(*aRank) - 1});
        }
        slices.push_back({n, 1, transB ? 1 : 0, {features}});
        if (gemm && node.inputs.size() > 2 && node.inputs[2] != graph::kNoValue)
            dropUnlessFirst.push_back({n, 2});
        reduced.insert(node.outputs[0]);
        divided.insert(n);
        return {};
    }

    // Elementwise with broadcasting: every sharded input on one output axis;
    // other inputs broadcast there (size 1 / absent) or are constants sliced.
    bool elementwise(NodeId n)
    {
        const Node &node = graph.node(n);
        auto outRank = rank(node.outputs[0]);
        if (!outRank)
            return false;
        const auto R = static_cast<int>(*outRank);
        std::optional<Layout> common;
        for (ValueId in : node.inputs) {
            if (in == graph::kNoValue || !of(in).sharded)
                continue;
            auto r = rank(in);
            if (!r)
                return false;
            Layout l = of(in);
            l.axis += R - static_cast<int>(*r);
            if (common && !(*common == l))
                return false;
            common = l;
        }
        std::vector<SliceConst> pending;
        for (std::size_t i = 0; i < node.inputs.size(); ++i) {
            const ValueId in = node.inputs[i];
            if (in == graph::kNoValue || of(in).sharded)
                continue;
            auto d = dims(in);
            if (!d)
                return false;
            const int p = common->axis - (R - static_cast<int>(d->size()));
            if (p < 0 || (*d)[static_cast<std::size_t>(p)] == 1)
                continue;
            if ((*d)[static_cast<std::size_t>(p)] == common->full() && constant(in)) {
                pending.push_back({n, i, p, common->segments});
                continue;
            }
            return false;
        }
        slices.insert(slices.end(), pending.begin(), pending.end());
        for (ValueId out : node.outputs)
            if (out != graph::kNoValue)
                layout[out] = *common;
        divided.insert(n);
        return true;
    }

    bool transpose(NodeId n, const Layout &in)
    {
        const Node &node = graph.node(n);
        auto r = rank(node.inputs[0]);
        if (!r)
            return false;
        Dims perm = node.intsAttr("perm");
        if (perm.empty())
            for (std::int64_t i = static_cast<std::int64_t>(*r) - 1; i >= 0; --i)
                perm.push_back(i);
        auto it = std::find(perm.begin(), perm.end(), in.axis);
        if (it == perm.end())
            return false;
        Layout out = in;
        out.axis = static_cast<int>(it - perm.begin());
        layout[node.outputs[0]] = out;
        divided.insert(n);
        return true;
    }

    bool split(NodeId n, const Layout &in)
    {
        const Node &node = graph.node(n);
        auto r = rank(node.inputs[0]);
        if (!r)
            return false;
        auto axis = node.intAttr("axis", 0);
        if (axis < 0)
            axis += static_cast<std::int64_t>(*r);
        if (axis != in.axis) {
            for (ValueId out : node.outputs)
                if (out != graph::kNoValue)
                    layout[out] = in;
            divided.insert(n);
            return true;
        }
        if (node.inputs.size() < 2)
            return false;
        auto data = constant(node.inputs[1]);
        if (!data || data->type() != graph::ElementType::Int64)
            return false;
        Dims sizes(data->as<std::int64_t>().begin(), data->as<std::int64_t>().end());
        if (sizes != in.segments || sizes.size() != node.outputs.size())
            return false;
        Dims divided_;
        for (std::int64_t s : sizes)
            divided_.push_back(s / parts);
        replaces.push_back({n, 1, divided_});
        for (std::size_t i = 0; i < node.outputs.size(); ++i)
            if (node.outputs[i] != graph::kNoValue)
                layout[node.outputs[i]] = {true, in.axis, {sizes[i]}};
        divided.insert(n);
        return true;
    }

    bool reshape(NodeId n, const Layout &in)
    {
        const Node &node = graph.node(n);
        if (in.segments.size() != 1 || node.inputs.size() < 2 || node.intAttr("allowzero", 0))
            return false;
        auto inDims = dims(node.inputs[0]);
        auto outDims = dims(node.outputs[0]);
        if (!inDims || !outDims)
            return false;
        std::int64_t suffix = 1;
        for (std::size_t d = static_cast<std::size_t>(in.axis); d < inDims->size(); ++d)
            suffix *= (*inDims)[d];
        // The sharded block is contiguous in the output at the last axis b
        // whose suffix product equals the input's and whose size divides.
        std::int64_t product = 1;
        for (int b = static_cast<int>(outDims->size()) - 1; b >= 0; --b) {
            product *= (*outDims)[static_cast<std::size_t>(b)];
            if (product == suffix) {
                const std::int64_t size = (*outDims)[static_cast<std::size_t>(b)];
                if (size % parts != 0 || size < parts)
                    continue;
                inserts.push_back({n, 1, "ShardShape", b});
                layout[node.outputs[0]] = {true, b, {size}};
                divided.insert(n);
                return true;
            }
            if (product > suffix)
                break;
        }
        return false;
    }

    bool matmul(NodeId n)
    {
        const Node &node = graph.node(n);
        const Layout a = of(node.inputs[0]), b = of(node.inputs[1]);
        auto ra = rank(node.inputs[0]), rb = rank(node.inputs[1]), R = rank(node.outputs[0]);
        if (!ra || !rb || !R || *ra < 2 || *rb < 2)
            return false;
        const int rA = static_cast<int>(*ra), rB = static_cast<int>(*rb), rO = static_cast<int>(*R);
        auto broadcastsAt = [&](ValueId v, int rv, int outAxis) {
            const int p = outAxis - (rO - rv);
            if (p < 0)
                return true;
            if (p >= rv - 2)
                return false;
            auto d = dims(v);
            return d && (*d)[static_cast<std::size_t>(p)] == 1;
        };
        std::optional<Layout> out;
        if (a.sharded && a.axis < rA - 2) {
            Layout l = a;
            l.axis += rO - rA;
            if (b.sharded) {
                if (b.axis >= rB - 2 || b.axis + rO - rB != l.axis || b.segments != a.segments)
                    return false;
            } else if (!broadcastsAt(node.inputs[1], rB, l.axis)) {
                return false;
            }
            out = l;
        } else if (a.sharded && a.axis == rA - 2 && !b.sharded) {
            out = Layout{true, rO - 2, a.segments};
        } else if (!a.sharded && b.sharded && b.axis < rB - 2) {
            Layout l = b;
            l.axis += rO - rB;
            if (!broadcastsAt(node.inputs[0], rA, l.axis))
                return false;
            out = l;
        } else if (!a.sharded && b.sharded && b.axis == rB - 1) {
            out = Layout{true, rO - 1, b.segments};
        }
        if (!out)
            return false;
        layout[node.outputs[0]] = *out;
        divided.insert(n);
        return true;
    }

    bool normalisedAxisOk(NodeId n, const Layout &in, std::int64_t fallbackAxis, bool fromAxisOn)
    {
        const Node &node = graph.node(n);
        auto r = rank(node.inputs[0]);
        if (!r)
            return false;
        auto axis = node.intAttr("axis", fallbackAxis);
        if (axis < 0)
            axis += static_cast<std::int64_t>(*r);
        if (fromAxisOn ? in.axis >= axis : in.axis == axis)
            return false;
        layout[node.outputs[0]] = in;
        divided.insert(n);
        return true;
    }

    Status run()
    {
        for (NodeId n : stageNodes) {
            const Node &node = graph.node(n);
            if (auto mode = group.modes.find(n); mode != group.modes.end()) {
                SB_TRY(mode->second == "column" ? splitColumn(n) : splitRow(n));
                continue;
            }
            if (propose && (node.opType == "MatMul" || node.opType == "Gemm") &&
                node.domain.empty() && node.inputs.size() > 1) {
                auto weight = constant(node.inputs[1]);
                if (weight && weight->dims().size() == 2 && !constant(node.inputs[0])) {
                    const bool transB = node.opType == "Gemm" && node.intAttr("transB", 0) != 0;
                    const std::int64_t k = weight->dims()[transB ? 1 : 0];
                    const Layout in = of(node.inputs[0]);
                    auto aRank = rank(node.inputs[0]);
                    const bool rowReady = in.sharded && aRank &&
                                          in.axis == static_cast<int>(*aRank) - 1 &&
                                          in.segments.size() == 1 && in.full() == k;
                    // A split that cannot be made changes nothing: the node stays whole.
                    if ((rowReady ? splitRow(n) : splitColumn(n)).ok()) {
                        proposed[n] = rowReady ? "row" : "column";
                        continue;
                    }
                }
            }
            std::optional<Layout> first;
            for (ValueId in : node.inputs)
                if (in != graph::kNoValue && of(in).sharded) {
                    first = of(in);
                    break;
                }
            if (!first)
                continue;
            bool ok = false;
            if (!node.domain.empty())
                ok = false;
            else if (elementwiseOps().count(node.opType))
                ok = elementwise(n);
            else if (node.opType == "Transpose")
                ok = transpose(n, *first);
            else if (node.opType == "Split" && of(node.inputs[0]).sharded)
                ok = split(n, *first);
            else if (node.opType == "Reshape" && of(node.inputs[0]).sharded)
                ok = reshape(n, *first);
            else if (node.opType == "MatMul")
                ok = matmul(n);
            else if (node.opType == "Softmax" || node.opType == "LogSoftmax")
                ok = graph.opsets.count("") && graph.opsets.at("") >= 13 &&
                     normalisedAxisOk(n, *first, -1, false);
            else if (node.opType == "LayerNormalization" && of(node.inputs[0]).sharded)
                ok = normalisedAxisOk(n, *first, -1, true);
            if (!ok)
                gatherInputs(n); // the op needs whole values: gather them first
        }
        return {};
    }
};

std::shared_ptr<graph::TensorData> sliceData(const graph::TensorData &data, int axis,
                                             const Dims &segments, std::int64_t parts,
                                             std::int64_t index)
{
    const Dims &shape = data.dims();
    const auto a = static_cast<std::size_t>(axis);
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < a; ++d)
        outer *= shape[d];
    for (std::size_t d = a + 1; d < shape.size(); ++d)
        inner *= shape[d];
    const std::size_t element = graph::elementSize(data.type());
    Dims outShape = shape;
    outShape[a] = 0;
    for (std::int64_t s : segments)
        outShape[a] += s / parts;
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(outer * outShape[a] * inner) *
                                    element);
    const auto *in = static_cast<const std::uint8_t *>(data.data());
    std::size_t offset = 0;
    for (std::int64_t o = 0; o < outer; ++o) {
        std::int64_t segmentStart = 0;
        for (std::int64_t s : segments) {
            const std::int64_t piece = s / parts;
            const std::size_t count = static_cast<std::size_t>(piece * inner) * element;
            const std::int64_t from = (o * shape[a] + segmentStart + index * piece) * inner;
            std::memcpy(bytes.data() + offset, in + static_cast<std::size_t>(from) * element,
                        count);
            offset += count;
            segmentStart += s;
        }
    }
    return graph::TensorData::fromBytes(data.type(), outShape, std::move(bytes));
}

graph::Attribute intAttribute(std::int64_t value)
{
    graph::Attribute attr;
    attr.kind = graph::Attribute::Kind::Int;
    attr.i = value;
    return attr;
}

graph::Attribute intsAttribute(Dims values)
{
    graph::Attribute attr;
    attr.kind = graph::Attribute::Kind::Ints;
    attr.ints = std::move(values);
    return attr;
}

std::string joinDims(const Dims &dims)
{
    std::string text;
    for (std::int64_t d : dims)
        text += (text.empty() ? "" : "_") + std::to_string(d);
    return text;
}

} // namespace

namespace {

Analysis makeAnalysis(const Graph &graph, const std::vector<NodeId> &stageNodes,
                      const TensorParallelGroup &group)
{
    const auto parts = static_cast<std::int64_t>(group.devices.size());
    Analysis analysis{graph, stageNodes, group, parts, {}, {}, {},    {}, {},
                      {},    {},         {},    {},    {}, {}, false, {}};
    analysis.inStage.insert(stageNodes.begin(), stageNodes.end());
    // Concrete shapes under distinctive sizes for the symbolic dims.
    const std::int64_t primes[] = {7, 11, 13, 17, 19, 23, 29, 31};
    std::size_t next = 0;
    for (ValueId in : graph.inputs())
        for (const graph::Dim &d : graph.value(in).info.shape.dims)
            if (d.isSymbolic() && !analysis.symbols.count(d.symbol))
                analysis.symbols[d.symbol] = primes[std::min(next++, std::size(primes) - 1)];
    if (auto bound = graph::inferBoundShapes(graph, analysis.symbols))
        analysis.bound = std::move(*bound);
    return analysis;
}

} // namespace

std::map<NodeId, std::string> proposeSplits(const Graph &graph,
                                            const std::vector<NodeId> &stageNodes, int parts)
{
    TensorParallelGroup group;
    group.devices.assign(static_cast<std::size_t>(std::max(parts, 1)), "");
    Analysis analysis = makeAnalysis(graph, stageNodes, group);
    analysis.propose = true;
    if (parts < 2 || !analysis.run().ok())
        return {};
    return analysis.proposed;
}

Result<ShardedStage> shardStage(const Graph &graph, const std::vector<NodeId> &stageNodes,
                                const TensorParallelGroup &group, bool buildGraphs)
{
    const auto parts = static_cast<std::int64_t>(group.devices.size());
    Analysis analysis = makeAnalysis(graph, stageNodes, group);
    SB_TRY(analysis.run());

    // Values that leave the stage sharded are gathered at the stage's end.
    std::set<ValueId> gathered;
    for (const auto &[n, i] : analysis.needFull)
        gathered.insert(graph.node(n).inputs[i]);
    std::set<ValueId> graphOutputs(graph.outputs().begin(), graph.outputs().end());
    for (const auto &[value, l] : analysis.layout) {
        if (!l.sharded)
            continue;
        bool leaves = graphOutputs.count(value) > 0;
        for (NodeId c : graph.value(value).consumers)
            if (!analysis.inStage.count(c))
                leaves = true;
        if (leaves)
            gathered.insert(value);
    }

    ShardedStage result;
    result.dividedNodes.assign(analysis.divided.begin(), analysis.divided.end());
    result.allReducedValues.assign(analysis.reduced.begin(), analysis.reduced.end());
    result.allGatheredValues.assign(gathered.begin(), gathered.end());
    {
        std::set<ValueId> weights, slicedSources;
        for (NodeId n : stageNodes)
            for (ValueId in : graph.node(n).inputs)
                if (in != graph::kNoValue && graph.value(in).initializer)
                    weights.insert(in);
        for (const SliceConst &s : analysis.slices) {
            const ValueId source = graph.node(s.node).inputs[s.input];
            if (graph.value(source).initializer)
                slicedSources.insert(source);
        }
        for (ValueId w : weights) {
            const std::uint64_t bytes = graph.value(w).initializer->byteSize();
            result.shardWeightBytes +=
                slicedSources.count(w) ? bytes / static_cast<std::uint64_t>(parts) : bytes;
        }
    }

    for (std::int64_t r = 0; buildGraphs && r < parts; ++r) {
        auto copy = std::make_shared<Graph>(graph);
        Graph &g = *copy;
        std::vector<Node> nodes = graph.nodes(); // edited, then rebuilt with insertions
        std::map<NodeId, std::vector<Node>> before, after;
        std::set<ValueId> bookkeeping; // split sizes: not weights
        const std::string suffix = "/tp" + std::to_string(r) + "of" + std::to_string(parts);

        // Sliced constants (one value per source, axis and segments).
        std::map<std::tuple<ValueId, int, std::string>, ValueId> sliced;
        for (const SliceConst &s : analysis.slices) {
            const ValueId source = nodes[static_cast<std::size_t>(s.node)].inputs[s.input];
            auto key = std::make_tuple(source, s.axis, joinDims(s.segments));
            auto it = sliced.find(key);
            if (it == sliced.end()) {
                auto data = analysis.constant(source);
                graph::Value value;
                value.name = graph.value(source).name + suffix +
                             (sliced.empty() ? "" : "_" + std::to_string(sliced.size()));
                auto piece = sliceData(*data, s.axis, s.segments, parts, r);
                value.info.type = piece->type();
                value.info.shape.rankKnown = true;
                for (std::int64_t d : piece->dims())
                    value.info.shape.dims.push_back(graph::Dim::known(d));
                value.initializer = std::move(piece);
                it = sliced.emplace(key, g.addValue(std::move(value))).first;
            }
            nodes[static_cast<std::size_t>(s.node)].inputs[s.input] = it->second;
        }
        for (const ReplaceConst &rc : analysis.replaces) {
            graph::Value value;
            Node &node = nodes[static_cast<std::size_t>(rc.node)];
            value.name = node.name + "/tp_sizes" + suffix;
            value.info.type = graph::ElementType::Int64;
            value.info.shape.rankKnown = true;
            value.info.shape.dims = {
                graph::Dim::known(static_cast<std::int64_t>(rc.values.size()))};
            std::vector<std::uint8_t> bytes(rc.values.size() * sizeof(std::int64_t));
            std::memcpy(bytes.data(), rc.values.data(), bytes.size());
            value.initializer = graph::TensorData::fromBytes(
                graph::ElementType::Int64, {static_cast<std::int64_t>(rc.values.size())},
                std::move(bytes));
            node.inputs[rc.input] = g.addValue(std::move(value));
            bookkeeping.insert(node.inputs[rc.input]);
        }
        if (r > 0)
            for (const auto &[n, i] : analysis.dropUnlessFirst)
                nodes[static_cast<std::size_t>(n)].inputs[i] = graph::kNoValue;
        for (const InsertBefore &ins : analysis.inserts) {
            Node &node = nodes[static_cast<std::size_t>(ins.node)];
            graph::Value value;
            value.name = node.name + "/tp_" + ins.op + "_" + std::to_string(ins.input);
            value.info = graph.value(node.inputs[ins.input]).info;
            const ValueId id = g.addValue(std::move(value));
            Node extra;
            extra.name = node.name + "/tp_" + ins.op + "_" + std::to_string(ins.input);
            extra.opType = ins.op;
            extra.domain = runtime::kShardDomain;
            extra.inputs = {node.inputs[ins.input]};
            extra.outputs = {id};
            extra.attributes["axis"] = intAttribute(ins.axis);
            extra.attributes["parts"] = intAttribute(parts);
            extra.attributes["index"] = intAttribute(r);
            extra.block = node.block;
            node.inputs[ins.input] = id;
            before[ins.node].push_back(std::move(extra));
        }
        // Collectives after the producers; the whole value keeps the original
        // name (read outside the stage and by ops that need it whole).
        auto addCollective = [&](ValueId value, const std::string &op, const std::string &tag,
                                 const Layout &l, bool allReaders,
                                 const std::set<std::pair<NodeId, std::size_t>> &readers) {
            const graph::Value original = graph.value(value);
            graph::Value whole = original;
            whole.initializer = nullptr;
            g.mutableValues()[static_cast<std::size_t>(value)].name = original.name + tag;
            const ValueId id = g.addValue(std::move(whole));
            Node extra;
            extra.name = (original.producer != graph::kNoNode ? graph.node(original.producer).name
                                                              : original.name) +
                         tag;
            extra.opType = op;
            extra.domain = runtime::kShardDomain;
            extra.inputs = {value};
            extra.outputs = {id};
            if (op == "AllGather") {
                extra.attributes["axis"] = intAttribute(l.axis);
                extra.attributes["segments"] = intsAttribute(l.segments);
            }
            extra.block =
                original.producer != graph::kNoNode ? graph.node(original.producer).block : -1;
            for (std::size_t n = 0; n < nodes.size(); ++n) {
                const bool outside = !analysis.inStage.count(static_cast<NodeId>(n));
                for (std::size_t i = 0; i < nodes[n].inputs.size(); ++i)
                    if (nodes[n].inputs[i] == value &&
                        (allReaders || outside || readers.count({static_cast<NodeId>(n), i})))
                        nodes[n].inputs[i] = id;
            }
            for (ValueId &out : g.mutableOutputs())
                if (out == value)
                    out = id;
            after[original.producer].push_back(std::move(extra));
        };
        for (ValueId value : analysis.reduced)
            addCollective(value, "AllReduceSum", "/tp_partial", {}, true, {});
        for (ValueId value : gathered)
            addCollective(value, "AllGather", "/tp_shard", analysis.of(value), false,
                          analysis.needFull);
        // Shard shapes in the declared infos (dims at the sharded axis / G).
        for (const auto &[value, l] : analysis.layout) {
            graph::Shape &shape = g.mutableValues()[static_cast<std::size_t>(value)].info.shape;
            if (l.sharded && shape.rankKnown && static_cast<std::size_t>(l.axis) < shape.rank() &&
                shape.dims[static_cast<std::size_t>(l.axis)].isKnown())
                shape.dims[static_cast<std::size_t>(l.axis)].value /= parts;
        }

        std::vector<Node> &out = g.mutableNodes();
        out.clear();
        ShardGraph shard;
        for (std::size_t n = 0; n < nodes.size(); ++n) {
            const auto id = static_cast<NodeId>(n);
            const bool mine = analysis.inStage.count(id) > 0;
            for (Node &extra : before[id]) {
                shard.nodes.push_back(static_cast<NodeId>(out.size()));
                out.push_back(std::move(extra));
            }
            if (mine)
                shard.nodes.push_back(static_cast<NodeId>(out.size()));
            out.push_back(std::move(nodes[n]));
            for (Node &extra : after[id]) {
                shard.nodes.push_back(static_cast<NodeId>(out.size()));
                out.push_back(std::move(extra));
            }
        }
        g.mutableBlocks().clear();
        g.rebuildIndex();
        std::set<ValueId> weights;
        for (NodeId n : shard.nodes)
            for (ValueId in : g.node(n).inputs)
                if (in != graph::kNoValue && g.value(in).initializer && !bookkeeping.count(in))
                    weights.insert(in);
        for (ValueId w : weights)
            shard.weightBytes += g.value(w).initializer->byteSize();
        shard.graph = std::move(copy);
        result.shards.push_back(std::move(shard));
    }
    return result;
}

} // namespace sb::plan
