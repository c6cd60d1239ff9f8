#include "core/runtime/fusion.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>

namespace sb::runtime {

using graph::Attribute;
using graph::Graph;
using graph::kNoNode;
using graph::kNoValue;
using graph::Node;
using graph::NodeId;
using graph::ValueId;

namespace {

const graph::TensorData *constantData(const Graph &g, ValueId v)
{
    if (v == kNoValue)
        return nullptr;
    const graph::Value &value = g.value(v);
    if (value.initializer && !value.isGraphInput)
        return value.initializer.get();
    if (value.producer != kNoNode) {
        const Node &node = g.node(value.producer);
        if (node.opType == "Constant" && node.domain.empty()) {
            const Attribute *attr = node.attribute("value");
            if (attr && attr->kind == Attribute::Kind::Tensor && attr->tensor)
                return attr->tensor.get();
        }
    }
    return nullptr;
}

std::optional<double> constScalar(const Graph &g, ValueId v)
{
    const graph::TensorData *data = constantData(g, v);
    if (!data || data->elementCount() != 1 || !data->data())
        return std::nullopt;
    switch (data->type()) {
    case graph::ElementType::Float32:
        return data->as<float>()[0];
    case graph::ElementType::Float64:
        return data->as<double>()[0];
    case graph::ElementType::Int64:
        return static_cast<double>(data->as<std::int64_t>()[0]);
    case graph::ElementType::Int32:
        return data->as<std::int32_t>()[0];
    default:
        return std::nullopt;
    }
}

bool near(std::optional<double> value, double target, double tol = 1e-4)
{
    return value && std::fabs(*value - target) <= tol * std::max(1.0, std::fabs(target));
}

class Rewriter
{
public:
    explicit Rewriter(Graph &g) : m_g(g) {}

    bool singleUse(ValueId v) const
    {
        if (v == kNoValue)
            return false;
        const graph::Value &value = m_g.value(v);
        return value.consumers.size() == 1 && !value.isGraphOutput &&
               !m_dead.count(value.consumers[0]);
    }
    // The only consumer of v (or kNoNode).
    NodeId soleConsumer(ValueId v, const char *opType) const
    {
        if (!singleUse(v))
            return kNoNode;
        NodeId c = m_g.value(v).consumers[0];
        const Node &node = m_g.node(c);
        return node.opType == opType && node.domain.empty() && !m_dead.count(c) ? c : kNoNode;
    }
    const Node *producer(ValueId v, const char *opType) const
    {
        if (v == kNoValue)
            return nullptr;
        NodeId p = m_g.value(v).producer;
        if (p == kNoNode || m_dead.count(p))
            return nullptr;
        const Node &node = m_g.node(p);
        return node.opType == opType && node.domain.empty() ? &node : nullptr;
    }
    // Other input of a binary node.
    static ValueId other(const Node &node, ValueId v)
    {
        return node.inputs.size() == 2 ? (node.inputs[0] == v ? node.inputs[1] : node.inputs[0])
                                       : kNoValue;
    }
    void replace(const std::vector<NodeId> &remove, NodeId at, Node fused)
    {
        for (NodeId n : remove)
            if (n != at)
                m_dead.insert(n);
        m_replacement[at] = std::move(fused);
        m_dirty = true;
    }
    void remove(NodeId n)
    {
        m_dead.insert(n);
        m_dirty = true;
    }
    bool dead(NodeId n) const { return m_dead.count(n) || m_replacement.count(n); }
    void commit()
    {
        if (!m_dirty)
            return;
        std::vector<Node> nodes;
        for (std::size_t i = 0; i < m_g.nodes().size(); ++i) {
            auto id = static_cast<NodeId>(i);
            if (m_dead.count(id))
                continue;
            auto it = m_replacement.find(id);
            nodes.push_back(it != m_replacement.end() ? std::move(it->second) : m_g.nodes()[i]);
        }
        m_g.mutableNodes() = std::move(nodes);
        m_g.rebuildIndex();
        m_dead.clear();
        m_replacement.clear();
        m_dirty = false;
    }
    Graph &g() { return m_g; }

private:
    Graph &m_g;
    std::set<NodeId> m_dead;
    std::map<NodeId, Node> m_replacement;
    bool m_dirty = false;
};

Attribute stringAttribute(const std::string &s)
{
    Attribute a;
    a.kind = Attribute::Kind::String;
    a.s = s;
    return a;
}
Attribute floatAttribute(float f)
{
    Attribute a;
    a.kind = Attribute::Kind::Float;
    a.f = f;
    return a;
}
Attribute intAttribute(std::int64_t i)
{
    Attribute a;
    a.kind = Attribute::Kind::Int;
    a.i = i;
    return a;
}

bool isFloat32(const Graph &g, ValueId v)
{
    return g.value(v).info.type == graph::ElementType::Float32;
}

int fuseGelu(Rewriter &rw)
{
    Graph &g = rw.g();
    int count = 0;
    for (std::size_t i = 0; i < g.nodes().size(); ++i) {
        const Node &erf = g.nodes()[i];
        auto erfId = static_cast<NodeId>(i);
        if (erf.opType != "Erf" || !erf.domain.empty() || rw.dead(erfId) || erf.inputs.size() != 1)
            continue;
        ValueId scaled = erf.inputs[0];
        const Node *div = rw.producer(scaled, "Div");
        const Node *mulScale = rw.producer(scaled, "Mul");
        ValueId x = kNoValue;
        if (div && near(constScalar(g, div->inputs[1]), std::sqrt(2.0)))
            x = div->inputs[0];
        else if (mulScale && near(constScalar(g, mulScale->inputs[1]), 1.0 / std::sqrt(2.0)))
            x = mulScale->inputs[0];
        if (x == kNoValue || !rw.singleUse(scaled) || !isFloat32(g, x))
            continue;
        NodeId addId = rw.soleConsumer(erf.outputs[0], "Add");
        if (addId == kNoNode ||
            !near(constScalar(g, Rewriter::other(g.node(addId), erf.outputs[0])), 1.0))
            continue;
        ValueId plusOne = g.node(addId).outputs[0];
        NodeId mul1 = rw.soleConsumer(plusOne, "Mul");
        if (mul1 == kNoNode)
            continue;
        ValueId partner = Rewriter::other(g.node(mul1), plusOne);
        std::vector<NodeId> remove = {g.value(scaled).producer, erfId, addId, mul1};
        NodeId last = kNoNode;
        ValueId out = kNoValue;
        if (partner == x) { // (x * (erf+1)) * 0.5
            NodeId mul2 = rw.soleConsumer(g.node(mul1).outputs[0], "Mul");
            if (mul2 == kNoNode ||
                !near(constScalar(g, Rewriter::other(g.node(mul2), g.node(mul1).outputs[0])), 0.5))
                continue;
            remove.push_back(mul2);
            last = mul2;
            out = g.node(mul2).outputs[0];
        } else if (const Node *half = rw.producer(partner, "Mul")) { // (x * 0.5) * (erf+1)
            if (!rw.singleUse(partner) || Rewriter::other(*half, x) == kNoValue ||
                !(half->inputs[0] == x || half->inputs[1] == x) ||
                !near(constScalar(g, Rewriter::other(*half, x)), 0.5))
                continue;
            remove.push_back(g.value(partner).producer);
            last = mul1;
            out = g.node(mul1).outputs[0];
        } else {
            continue;
        }
        Node fused;
        fused.name = g.node(last).name;
        fused.opType = "Gelu";
        fused.domain = "sb";
        fused.inputs = {x};
        fused.outputs = {out};
        fused.block = g.node(last).block;
        rw.replace(remove, last, std::move(fused));
        ++count;
    }
    rw.commit();
    return count;
}

bool lastAxisReduce(const Graph &g, const Node &reduce)
{
    if (reduce.inputs.size() != 1 || reduce.intAttr("keepdims", 1) != 1)
        return false;
    auto axes = reduce.intsAttr("axes");
    if (axes.size() != 1)
        return false;
    if (axes[0] == -1)
        return true;
    const auto &shape = g.value(reduce.inputs[0]).info.shape;
    return shape.rankKnown && axes[0] == static_cast<std::int64_t>(shape.rank()) - 1;
}

int fuseLayerNorm(Rewriter &rw)
{
    Graph &g = rw.g();
    int count = 0;
    for (std::size_t i = 0; i < g.nodes().size(); ++i) {
        const Node &mean = g.nodes()[i];
        auto meanId = static_cast<NodeId>(i);
        if (mean.opType != "ReduceMean" || !mean.domain.empty() || rw.dead(meanId) ||
            !lastAxisReduce(g, mean))
            continue;
        ValueId x = mean.inputs[0];
        if (!isFloat32(g, x))
            continue;
        NodeId subId = rw.soleConsumer(mean.outputs[0], "Sub");
        if (subId == kNoNode || g.node(subId).inputs[0] != x ||
            g.node(subId).inputs[1] != mean.outputs[0])
            continue;
        ValueId centered = g.node(subId).outputs[0];
        const auto &uses = g.value(centered).consumers;
        if (uses.size() != 2 || g.value(centered).isGraphOutput)
            continue;
        NodeId powId = kNoNode, divId = kNoNode;
        for (NodeId u : uses) {
            if (g.node(u).opType == "Pow" && g.node(u).inputs[0] == centered)
                powId = u;
            else if (g.node(u).opType == "Div" && g.node(u).inputs[0] == centered)
                divId = u;
        }
        if (powId == kNoNode || divId == kNoNode ||
            !near(constScalar(g, g.node(powId).inputs[1]), 2.0))
            continue;
        NodeId mean2 = rw.soleConsumer(g.node(powId).outputs[0], "ReduceMean");
        if (mean2 == kNoNode || !lastAxisReduce(g, g.node(mean2)))
            continue;
        NodeId addEps = rw.soleConsumer(g.node(mean2).outputs[0], "Add");
        if (addEps == kNoNode)
            continue;
        auto epsilon = constScalar(g, Rewriter::other(g.node(addEps), g.node(mean2).outputs[0]));
        if (!epsilon)
            continue;
        NodeId sqrtId = rw.soleConsumer(g.node(addEps).outputs[0], "Sqrt");
        if (sqrtId == kNoNode || !rw.singleUse(g.node(sqrtId).outputs[0]) ||
            g.node(divId).inputs[1] != g.node(sqrtId).outputs[0])
            continue;
        ValueId normalized = g.node(divId).outputs[0];
        NodeId mulId = rw.soleConsumer(normalized, "Mul");
        if (mulId == kNoNode)
            continue;
        ValueId gamma = Rewriter::other(g.node(mulId), normalized);
        NodeId addId = rw.soleConsumer(g.node(mulId).outputs[0], "Add");
        if (addId == kNoNode)
            continue;
        ValueId beta = Rewriter::other(g.node(addId), g.node(mulId).outputs[0]);
        const graph::TensorData *gammaData = constantData(g, gamma);
        const graph::TensorData *betaData = constantData(g, beta);
        if (!gammaData || !betaData || gammaData->dims().size() != 1 ||
            betaData->dims().size() != 1 || gammaData->type() != graph::ElementType::Float32 ||
            betaData->type() != graph::ElementType::Float32)
            continue;
        Node fused;
        fused.name = g.node(addId).name;
        fused.opType = "LayerNormalization";
        fused.inputs = {x, gamma, beta};
        fused.outputs = {g.node(addId).outputs[0]};
        fused.attributes["axis"] = intAttribute(-1);
        fused.attributes["epsilon"] = floatAttribute(static_cast<float>(*epsilon));
        fused.block = g.node(addId).block;
        rw.replace({meanId, subId, powId, mean2, addEps, sqrtId, divId, mulId, addId}, addId,
                   std::move(fused));
        ++count;
    }
    rw.commit();
    return count;
}

// Activation consuming `v` alone: "Relu", "Gelu" (sb) or "" if none.
std::pair<std::string, NodeId> activationAfter(Rewriter &rw, ValueId v, bool allowClip,
                                               float *clipMin, float *clipMax)
{
    Graph &g = rw.g();
    if (!rw.singleUse(v))
        return {"", kNoNode};
    NodeId c = g.value(v).consumers[0];
    const Node &node = g.node(c);
    if (node.opType == "Relu" && node.domain.empty())
        return {"Relu", c};
    if (node.opType == "Gelu" && node.domain == "sb")
        return {"Gelu", c};
    if (allowClip && node.opType == "Clip" && node.domain.empty()) {
        std::optional<double> lo, hi;
        if (node.inputs.size() >= 2 && node.inputs[1] != kNoValue)
            lo = constScalar(g, node.inputs[1]);
        if (node.inputs.size() >= 3 && node.inputs[2] != kNoValue)
            hi = constScalar(g, node.inputs[2]);
        bool attrForm = node.attributes.count("min") || node.attributes.count("max");
        if (attrForm) {
            lo = node.floatAttr("min", -INFINITY);
            hi = node.floatAttr("max", INFINITY);
        }
        if (lo && hi) {
            *clipMin = static_cast<float>(*lo);
            *clipMax = static_cast<float>(*hi);
            return {"Clip", c};
        }
    }
    return {"", kNoNode};
}

// Replaces op -> Add [-> activation] by `fused`, which takes the last node's
// outputs, name and block.
void replaceChain(Rewriter &rw, Node fused, NodeId opId, NodeId addId, NodeId actId)
{
    const NodeId last = actId != kNoNode ? actId : addId;
    const Node &lastNode = rw.g().node(last);
    fused.outputs = lastNode.outputs;
    fused.name = lastNode.name;
    fused.block = lastNode.block;
    std::vector<NodeId> remove = {opId, addId};
    if (actId != kNoNode)
        remove.push_back(actId);
    rw.replace(remove, last, std::move(fused));
}

int fuseMatMulEpilogue(Rewriter &rw)
{
    Graph &g = rw.g();
    int count = 0;
    for (std::size_t i = 0; i < g.nodes().size(); ++i) {
        const Node &mm = g.nodes()[i];
        auto mmId = static_cast<NodeId>(i);
        if (rw.dead(mmId) || !mm.domain.empty())
            continue;
        float lo = 0, hi = 0;
        if (mm.opType == "Gemm") {
            if (!isFloat32(g, mm.outputs[0]))
                continue;
            auto [act, actId] = activationAfter(rw, mm.outputs[0], false, &lo, &hi);
            if (actId == kNoNode)
                continue;
            Node fused = mm;
            fused.domain = "sb";
            fused.opType = "FusedGemm";
            fused.attributes["activation"] = stringAttribute(act);
            fused.outputs = g.node(actId).outputs;
            fused.name = g.node(actId).name;
            rw.replace({mmId, actId}, actId, std::move(fused));
            ++count;
            continue;
        }
        if (mm.opType != "MatMul" || mm.inputs.size() != 2 || !isFloat32(g, mm.outputs[0]))
            continue;
        const graph::TensorData *weight = constantData(g, mm.inputs[1]);
        if (!weight || weight->dims().size() != 2)
            continue;
        NodeId addId = rw.soleConsumer(mm.outputs[0], "Add");
        if (addId == kNoNode)
            continue;
        ValueId bias = Rewriter::other(g.node(addId), mm.outputs[0]);
        const graph::TensorData *biasData = constantData(g, bias);
        if (!biasData || biasData->dims().size() != 1 || biasData->dims()[0] != weight->dims()[1] ||
            biasData->type() != graph::ElementType::Float32)
            continue;
        ValueId out = g.node(addId).outputs[0];
        auto [act, actId] = activationAfter(rw, out, false, &lo, &hi);
        Node fused;
        fused.domain = "sb";
        fused.opType = "FusedMatMul";
        fused.inputs = {mm.inputs[0], mm.inputs[1], bias};
        fused.attributes["activation"] = stringAttribute(act);
        replaceChain(rw, std::move(fused), mmId, addId, actId);
        ++count;
    }
    rw.commit();
    return count;
}

int fuseConvEpilogue(Rewriter &rw)
{
    Graph &g = rw.g();
    int count = 0;
    for (std::size_t i = 0; i < g.nodes().size(); ++i) {
        const Node &conv = g.nodes()[i];
        auto convId = static_cast<NodeId>(i);
        if (rw.dead(convId) || conv.opType != "Conv" || !conv.domain.empty() ||
            !isFloat32(g, conv.outputs[0]))
            continue;
        float lo = 0, hi = 0;
        auto [act, actId] = activationAfter(rw, conv.outputs[0], true, &lo, &hi);
        if (actId == kNoNode || act == "Gelu")
            continue;
        Node fused = conv;
        fused.domain = "sb";
        fused.opType = "FusedConv";
        fused.attributes["activation"] = stringAttribute(act);
        if (act == "Clip") {
            fused.attributes["clip_min"] = floatAttribute(lo);
            fused.attributes["clip_max"] = floatAttribute(hi);
        }
        fused.outputs = g.node(actId).outputs;
        fused.name = g.node(actId).name;
        rw.replace({convId, actId}, actId, std::move(fused));
        ++count;
    }
    rw.commit();
    return count;
}

// Conv -> Add(conv, R) [-> Relu / Clip]: sb.FusedConv(X, W, B, R) with
// the activation, R added before it (ResNet's residual add). Only where
// both Add inputs are declared 4-D with the same dims (no broadcasting) and
// R is not a constant.
int fuseConvResidual(Rewriter &rw)
{
    Graph &g = rw.g();
    int count = 0;
    for (std::size_t i = 0; i < g.nodes().size(); ++i) {
        const Node &conv = g.nodes()[i];
        auto convId = static_cast<NodeId>(i);
        if (rw.dead(convId) || conv.opType != "Conv" || !conv.domain.empty() ||
            !isFloat32(g, conv.outputs[0]) || conv.inputs.size() < 2)
            continue;
        NodeId addId = rw.soleConsumer(conv.outputs[0], "Add");
        if (addId == kNoNode)
            continue;
        ValueId residual = Rewriter::other(g.node(addId), conv.outputs[0]);
        if (residual == kNoValue || residual == conv.outputs[0] || constantData(g, residual))
            continue;
        const graph::Shape &a = g.value(conv.outputs[0]).info.shape;
        const graph::Shape &b = g.value(residual).info.shape;
        bool same = a.rankKnown && a.rank() == 4 && a == b;
        for (const graph::Dim &d : a.dims)
            same = same && (d.isKnown() || d.isSymbolic());
        if (!same || !isFloat32(g, residual))
            continue;
        ValueId out = g.node(addId).outputs[0];
        float lo = 0, hi = 0;
        auto [act, actId] = activationAfter(rw, out, true, &lo, &hi);
        if (act == "Gelu")
            act.clear(), actId = kNoNode;
        Node fused = conv;
        fused.domain = "sb";
        fused.opType = "FusedConv";
        fused.inputs.resize(3, kNoValue);
        fused.inputs.push_back(residual);
        fused.attributes["activation"] = stringAttribute(act);
        if (act == "Clip") {
            fused.attributes["clip_min"] = floatAttribute(lo);
            fused.attributes["clip_max"] = floatAttribute(hi);
        }
        replaceChain(rw, std::move(fused), convId, addId, actId);
        ++count;
    }
    rw.commit();
    return count;
}

// Conv (or sb.FusedConv) attributes that only leave the geometry at its
// default: no auto_pad (or NOTSET), strides and pads absent or trivial.
bool defaultAttr(const Node &node, const char *name, std::int64_t value)
{
    for (std::int64_t v : node.intsAttr(name))
        if (v != value)
            return false;
    return true;
}

// Conv or sb.FusedConv with a Relu / Clip activation (or none); its
// activation name ("" if none), or nullopt for anything else.
std::optional<std::string> convActivation(const Node &node)
{
    if (node.opType == "Conv" && node.domain.empty())
        return std::string();
    if (node.opType == "FusedConv" && node.domain == "sb") {
        std::string act = node.stringAttr("activation", "");
        if (act.empty() || act == "Relu" || act == "Clip")
            return act;
    }
    return std::nullopt;
}

// A 1x1 expand conv whose output only feeds a depthwise conv:
// sb.FusedPointwiseDepthwise(X, W1, B1, W2, B2), with the depthwise's
// attributes and activation and the pointwise's as pointwise_activation
// (pointwise_clip_min/max). See kernels/cpu/nn_common.h.
int fusePointwiseDepthwise(Rewriter &rw)
{
    Graph &g = rw.g();
    int count = 0;
    for (std::size_t i = 0; i < g.nodes().size(); ++i) {
        const Node &pw = g.nodes()[i];
        auto pwId = static_cast<NodeId>(i);
        if (rw.dead(pwId) || pw.inputs.size() < 2 || pw.outputs.size() != 1)
            continue;
        auto pwAct = convActivation(pw);
        if (!pwAct || !isFloat32(g, pw.outputs[0]) || pw.intAttr("group", 1) != 1 ||
            pw.stringAttr("auto_pad", "NOTSET") != "NOTSET" || !defaultAttr(pw, "strides", 1) ||
            !defaultAttr(pw, "pads", 0))
            continue;
        const graph::TensorData *w1 = constantData(g, pw.inputs[1]);
        if (!w1 || w1->type() != graph::ElementType::Float32 || w1->dims().size() != 4 ||
            w1->dims()[2] != 1 || w1->dims()[3] != 1)
            continue;
        const std::int64_t channels = w1->dims()[0];
        ValueId b1 = pw.inputs.size() > 2 ? pw.inputs[2] : kNoValue;
        if (!rw.singleUse(pw.outputs[0]))
            continue;
        NodeId dwId = g.value(pw.outputs[0]).consumers[0];
        if (rw.dead(dwId))
            continue;
        const Node &dw = g.node(dwId);
        auto dwAct = convActivation(dw);
        if (!dwAct || dw.inputs.size() < 2 || dw.outputs.size() != 1 ||
            dw.inputs[0] != pw.outputs[0] || dw.intAttr("group", 1) != channels)
            continue;
        const graph::TensorData *w2 = constantData(g, dw.inputs[1]);
        if (!w2 || w2->type() != graph::ElementType::Float32 || w2->dims().size() != 4 ||
            w2->dims()[0] != channels || w2->dims()[1] != 1)
            continue;
        ValueId b2 = dw.inputs.size() > 2 ? dw.inputs[2] : kNoValue;
        Node fused;
        fused.name = dw.name;
        fused.opType = "FusedPointwiseDepthwise";
        fused.domain = "sb";
        fused.inputs = {pw.inputs[0], pw.inputs[1], b1, dw.inputs[1], b2};
        fused.outputs = dw.outputs;
        fused.block = dw.block;
        for (const char *name : {"strides", "pads", "dilations", "auto_pad", "kernel_shape"})
            if (dw.attributes.count(name))
                fused.attributes[name] = dw.attributes.at(name);
        for (const char *name : {"activation", "clip_min", "clip_max"}) {
            if (dw.attributes.count(name))
                fused.attributes[name] = dw.attributes.at(name);
            if (pw.attributes.count(name))
                fused.attributes[std::string("pointwise_") + name] = pw.attributes.at(name);
        }
        rw.replace({pwId, dwId}, dwId, std::move(fused));
        ++count;
    }
    rw.commit();
    return count;
}

// ---- QDQ graphs: DequantizeLinear -> op -> QuantizeLinear into int8 ops.

// A DequantizeLinear (float32 out) with constant scale and zero point.
struct Dequantized
{
    ValueId q = kNoValue, scale = kNoValue, zeroPoint = kNoValue;
    std::int64_t axis = 1;
    const graph::TensorData *scaleData = nullptr, *zeroData = nullptr;
    bool perTensor() const { return scaleData->elementCount() == 1; }
};

std::optional<Dequantized> dequantized(const Rewriter &rw, ValueId v)
{
    const Node *dq = rw.producer(v, "DequantizeLinear");
    if (!dq || dq->inputs.size() != 3 || dq->inputs[2] == kNoValue || dq->outputs.size() != 1)
        return std::nullopt;
    const Graph &g = const_cast<Rewriter &>(rw).g();
    Dequantized d;
    d.q = dq->inputs[0];
    d.scale = dq->inputs[1];
    d.zeroPoint = dq->inputs[2];
    d.axis = dq->intAttr("axis", 1);
    d.scaleData = constantData(g, d.scale);
    d.zeroData = constantData(g, d.zeroPoint);
    if (!d.scaleData || !d.zeroData || d.scaleData->type() != graph::ElementType::Float32 ||
        d.scaleData->elementCount() != d.zeroData->elementCount() || !isFloat32(g, v))
        return std::nullopt;
    return d;
}

bool isInt8Type(graph::ElementType t)
{
    return t == graph::ElementType::Int8 || t == graph::ElementType::UInt8;
}

// An int8 activation: per-tensor DequantizeLinear of an 8-bit tensor.
std::optional<Dequantized> int8Activation(const Rewriter &rw, ValueId v)
{
    auto d = dequantized(rw, v);
    if (!d || !d->perTensor() || !isInt8Type(d->zeroData->type()))
        return std::nullopt;
    return d;
}

// The QuantizeLinear (per tensor, 8-bit, explicit zero point) that is the
// only consumer of v.
NodeId quantizeAfter(const Rewriter &rw, ValueId v)
{
    NodeId q = rw.soleConsumer(v, "QuantizeLinear");
    if (q == kNoNode)
        return kNoNode;
    const Graph &g = const_cast<Rewriter &>(rw).g();
    const Node &node = g.node(q);
    if (node.inputs.size() != 3 || node.inputs[2] == kNoValue || node.attribute("output_dtype"))
        return kNoNode;
    const graph::TensorData *scale = constantData(g, node.inputs[1]);
    const graph::TensorData *zero = constantData(g, node.inputs[2]);
    if (!scale || !zero || scale->elementCount() != 1 || zero->elementCount() != 1 ||
        scale->type() != graph::ElementType::Float32 || !isInt8Type(zero->type()))
        return kNoNode;
    return q;
}

// [Relu ->] QuantizeLinear after v: the activation and the Q node.
std::pair<std::string, NodeId> reluThenQuantize(Rewriter &rw, ValueId v, NodeId *relu)
{
    *relu = rw.soleConsumer(v, "Relu");
    const ValueId last = *relu != kNoNode ? rw.g().node(*relu).outputs[0] : v;
    return {*relu != kNoNode ? "Relu" : "", quantizeAfter(rw, last)};
}

// Weights for the int8 kernels: a constant 8-bit tensor dequantized per
// tensor or per output channel (`axis`).
bool int8Weights(const Graph &g, const Dequantized &w, std::int64_t channelAxis,
                 std::int64_t channels)
{
    const graph::TensorData *data = constantData(g, w.q);
    if (!data || !isInt8Type(data->type()))
        return false;
    const auto rank = static_cast<std::int64_t>(data->dims().size());
    const std::int64_t axis = w.axis < 0 ? w.axis + rank : w.axis;
    return w.perTensor() || (axis == channelAxis && w.scaleData->elementCount() == channels);
}

// The int32 bias behind a DequantizeLinear whose scale is x_scale * w_scale
// (per channel) and zero point 0, as quantizers emit it: its int32 tensor,
// or kNoValue when the bias is absent; nullopt when it is in another form.
std::optional<ValueId> int32Bias(const Rewriter &rw, ValueId bias, const Dequantized &x,
                                 const Dequantized &w, std::int64_t channels)
{
    if (bias == kNoValue)
        return kNoValue;
    auto b = dequantized(rw, bias);
    if (!b)
        return std::nullopt;
    const graph::TensorData *data = constantData(const_cast<Rewriter &>(rw).g(), b->q);
    if (!data || data->type() != graph::ElementType::Int32 || data->elementCount() != channels ||
        (!b->perTensor() && b->scaleData->elementCount() != channels))
        return std::nullopt;
    const float xs = x.scaleData->as<float>()[0];
    for (std::int64_t c = 0; c < channels; ++c) {
        const auto i = static_cast<std::size_t>(c);
        const float ws = w.scaleData->as<float>()[w.perTensor() ? 0 : i];
        const float bs = b->scaleData->as<float>()[b->perTensor() ? 0 : i];
        if (std::fabs(bs - xs * ws) > 1e-5f * std::fabs(xs * ws) ||
            b->zeroData->as<std::int32_t>()[b->perTensor() ? 0 : i] != 0)
            return std::nullopt;
    }
    return b->q;
}

Node qdqNode(const Node &base, const char *opType, std::vector<ValueId> inputs,
             const std::string &act, const Node &quantize)
{
    Node fused;
    fused.name = base.name;
    fused.opType = opType;
    fused.domain = "sb";
    fused.inputs = std::move(inputs);
    fused.outputs = quantize.outputs;
    fused.block = base.block;
    fused.attributes["activation"] = stringAttribute(act);
    return fused;
}

int fuseQdq(Rewriter &rw)
{
    Graph &g = rw.g();
    int count = 0;
    for (std::size_t i = 0; i < g.nodes().size(); ++i) {
        const Node &node = g.nodes()[i];
        auto id = static_cast<NodeId>(i);
        if (rw.dead(id) || !node.domain.empty() || node.outputs.size() != 1)
            continue;
        const ValueId out = node.outputs[0];
        if (node.opType == "MaxPool") {
            // DQ -> MaxPool -> Q with the same parameters: MaxPool on the int8 tensor.
            auto x = int8Activation(rw, node.inputs[0]);
            NodeId q = quantizeAfter(rw, out);
            if (!x || q == kNoNode)
                continue;
            const Node &qn = g.node(q);
            const graph::TensorData *qs = constantData(g, qn.inputs[1]);
            const graph::TensorData *qz = constantData(g, qn.inputs[2]);
            if (qs->as<float>()[0] != x->scaleData->as<float>()[0] ||
                qz->type() != x->zeroData->type() ||
                std::memcmp(qz->data(), x->zeroData->data(), 1) != 0)
                continue;
            Node fused = node;
            fused.inputs = {x->q};
            fused.outputs = qn.outputs;
            rw.replace({id, q}, q, std::move(fused));
            ++count;
            continue;
        }
        if (node.opType != "Conv" && node.opType != "Gemm" && node.opType != "MatMul" &&
            node.opType != "Add")
            continue;
        NodeId relu = kNoNode;
        auto [act, q] = reluThenQuantize(rw, out, &relu);
        if (q == kNoNode)
            continue;
        const Node &qn = g.node(q);
        std::vector<NodeId> remove = {id, q};
        if (relu != kNoNode)
            remove.push_back(relu);
        auto x = int8Activation(rw, node.inputs[0]);
        if (!x)
            continue;
        Node fused;
        if (node.opType == "Add") {
            auto b = node.inputs.size() == 2 ? int8Activation(rw, node.inputs[1]) : std::nullopt;
            const graph::Shape &sa = g.value(node.inputs[0]).info.shape;
            const graph::Shape &sb = g.value(node.inputs[1]).info.shape;
            bool same = b && sa.rankKnown && sa == sb;
            for (const graph::Dim &d : sa.dims)
                same = same && (d.isKnown() || d.isSymbolic());
            if (!same)
                continue;
            fused = qdqNode(node, "QLinearAdd",
                            {x->q, x->scale, x->zeroPoint, b->q, b->scale, b->zeroPoint,
                             qn.inputs[1], qn.inputs[2]},
                            act, qn);
        } else {
            if (node.inputs.size() < 2)
                continue;
            auto w = dequantized(rw, node.inputs[1]);
            const graph::TensorData *wData = w ? constantData(g, w->q) : nullptr;
            if (!w || !wData)
                continue;
            const auto &wd = wData->dims();
            const bool conv = node.opType == "Conv";
            const bool transB = node.opType == "Gemm" && node.intAttr("transB", 0) != 0;
            if (conv ? wd.size() != 4 : wd.size() != 2)
                continue;
            if (node.opType == "Gemm" &&
                (node.intAttr("transA", 0) != 0 || node.floatAttr("alpha", 1.0f) != 1.0f ||
                 node.floatAttr("beta", 1.0f) != 1.0f))
                continue;
            const std::int64_t channels = conv ? wd[0] : (transB ? wd[0] : wd[1]);
            const std::int64_t channelAxis = conv || transB ? 0 : 1;
            if (!int8Weights(g, *w, channelAxis, channels))
                continue;
            const ValueId biasIn = node.inputs.size() > 2 ? node.inputs[2] : kNoValue;
            if (biasIn != kNoValue && node.opType == "Gemm") {
                const graph::Shape &bs = g.value(biasIn).info.shape;
                if (!bs.rankKnown || bs.rank() != 1)
                    continue; // a [m, n] C is not a per-column bias
            }
            auto bias = int32Bias(rw, biasIn, *x, *w, channels);
            if (!bias)
                continue;
            std::vector<ValueId> inputs = {x->q,         x->scale,     x->zeroPoint, w->q, w->scale,
                                           w->zeroPoint, qn.inputs[1], qn.inputs[2], *bias};
            if (*bias == kNoValue)
                inputs.pop_back();
            fused = qdqNode(node, conv ? "QLinearConv" : "QGemm", inputs, act, qn);
            if (conv) {
                for (const auto &[name, attr] : node.attributes)
                    fused.attributes[name] = attr;
            } else {
                fused.attributes["transB"] = intAttribute(transB ? 1 : 0);
            }
        }
        rw.replace(remove, q, std::move(fused));
        ++count;
    }
    rw.commit();
    // DequantizeLinear nodes left without readers (their int8 tensors now go
    // straight to the fused ops).
    std::vector<NodeId> unused;
    for (std::size_t i = 0; i < g.nodes().size(); ++i) {
        const Node &node = g.nodes()[i];
        if (node.opType == "DequantizeLinear" && node.domain.empty() && node.outputs.size() == 1 &&
            g.value(node.outputs[0]).consumers.empty() && !g.value(node.outputs[0]).isGraphOutput)
            unused.push_back(static_cast<NodeId>(i));
    }
    for (NodeId n : unused)
        rw.remove(n);
    rw.commit();
    return count;
}
// ---- Channels-last chains (kernels/cpu/channels_last.h).

// Which inputs of a node may be stored channels-last, which of them share
// the output's layout (all or none), and whether its output may be.
struct ChannelsLastSlots
{
    std::vector<std::size_t> inputs;
    std::vector<std::size_t> tied; // inputs stored as the output is
    bool output = false;
};

// int8: the activation of a 2-D sb.QLinearConv, both operands of
// sb.QLinearAdd (tied), the input of an int8 MaxPool (tied).
ChannelsLastSlots int8ChannelsLastSlots(const Graph &g, const Node &n)
{
    if (n.outputs.size() != 1 || n.inputs.empty() || n.inputs[0] == kNoValue)
        return {};
    if (n.domain == "sb" && n.opType == "QLinearConv" && n.inputs.size() > 3) {
        const graph::TensorData *w = constantData(g, n.inputs[3]);
        if (w && w->dims().size() == 4)
            return {{0}, {}, true};
        return {};
    }
    if (n.domain == "sb" && n.opType == "QLinearAdd" && n.inputs.size() > 3)
        return {{0, 3}, {0, 3}, true};
    if (n.domain.empty() && n.opType == "MaxPool" && isInt8Type(g.value(n.inputs[0]).info.type) &&
        n.intAttr("storage_order", 0) == 0)
        return {{0}, {0}, true};
    return {};
}

// Whether the 4-D value's H and W are known and H * W is at most `limit`.
bool planeAtMost(const Graph &g, ValueId v, std::int64_t limit)
{
    const graph::Shape &shape = g.value(v).info.shape;
    if (!shape.rankKnown || shape.rank() != 4 || !shape.dims[2].isKnown() ||
        !shape.dims[3].isKnown())
        return false;
    return shape.dims[2].value * shape.dims[3].value <= limit;
}

// float32: the input and output of a 2-D Conv / sb.FusedConv (constant 4-D
// weights; its residual, input 3, tied to the output: oneDNN adds it in the
// output's layout), of a float MaxPool (tied), of sb.FusedPointwiseDepthwise
// on input planes of known size up to `pointwiseDepthwisePlane`, and the
// input of GlobalAveragePool (whose [N, C, 1, 1] output is the same either
// way). `float4` tells the 4-D float32 values (floatRank4Values).
ChannelsLastSlots floatChannelsLastSlots(const Graph &g, const Node &n,
                                         const std::vector<char> &float4,
                                         std::int64_t pointwiseDepthwisePlane)
{
    if (n.outputs.size() != 1 || n.inputs.empty() || n.inputs[0] == kNoValue ||
        !float4[static_cast<std::size_t>(n.inputs[0])])
        return {};
    if (n.opType == "FusedPointwiseDepthwise" && n.domain == "sb") {
        if (pointwiseDepthwisePlane > 0 && planeAtMost(g, n.inputs[0], pointwiseDepthwisePlane))
            return {{0}, {}, true};
        return {};
    }
    if ((n.opType == "Conv" && n.domain.empty()) || (n.opType == "FusedConv" && n.domain == "sb")) {
        const graph::TensorData *w = n.inputs.size() > 1 ? constantData(g, n.inputs[1]) : nullptr;
        if (!w || w->dims().size() != 4)
            return {};
        if (n.domain == "sb" && n.inputs.size() > 3 && n.inputs[3] != kNoValue)
            return {{0, 3}, {3}, true};
        return {{0}, {}, true};
    }
    if (n.opType == "MaxPool" && n.domain.empty() && n.intAttr("storage_order", 0) == 0)
        return {{0}, {0}, true};
    if (n.opType == "GlobalAveragePool" && n.domain.empty())
        return {{0}, {}, false};
    return {};
}

// Marks the 4-D values of `type` that flow only between nodes that can
// store them channels-last: produced by one (at an output it may store so),
// read only by such nodes at such inputs; a node's tied inputs and its output
// all or none. A graph output is marked only when its producer ties inputs to
// it (a residual conv, a max pool; the executor hands it back planar): left
// planar, it would unmark the tied inputs and, through their producers' ties,
// the chain before it, as at a pipeline stage that ends inside a ResNet stage.
// The nodes get channels_last_inputs / channels_last_output. Returns the
// number of values marked.
template <typename SlotsOf, typename Rank4>
int markChannelsLast(Graph &g, SlotsOf slotsOf, Rank4 rank4)
{
    std::vector<char> marked(g.values().size(), 0);
    auto isMarked = [&](ValueId v) { return v != kNoValue && marked[static_cast<std::size_t>(v)]; };
    for (const Node &p : g.nodes()) {
        if (!slotsOf(g, p).output)
            continue;
        const ValueId v = p.outputs[0];
        if (v == kNoValue || !rank4(v))
            continue;
        const graph::Value &value = g.value(v);
        if (value.isGraphOutput ? slotsOf(g, p).tied.empty() : value.consumers.empty())
            continue;
        bool onlyCapableReaders = true;
        for (NodeId c : value.consumers) {
            const Node &reader = g.node(c);
            const std::vector<std::size_t> slots = slotsOf(g, reader).inputs;
            for (std::size_t i = 0; i < reader.inputs.size(); ++i)
                if (reader.inputs[i] == v &&
                    std::find(slots.begin(), slots.end(), i) == slots.end())
                    onlyCapableReaders = false;
        }
        marked[static_cast<std::size_t>(v)] = onlyCapableReaders ? 1 : 0;
    }
    // Tied operands: all or none, until nothing changes (unmarking only, so it ends).
    for (bool changed = true; changed;) {
        changed = false;
        for (const Node &n : g.nodes()) {
            const ChannelsLastSlots slots = slotsOf(g, n);
            if (slots.tied.empty())
                continue;
            std::vector<ValueId> operands = {n.outputs[0]};
            for (std::size_t i : slots.tied)
                if (i < n.inputs.size())
                    operands.push_back(n.inputs[i]);
            int count = 0;
            for (ValueId v : operands)
                count += isMarked(v) ? 1 : 0;
            if (count == 0 || count == static_cast<int>(operands.size()))
                continue;
            for (ValueId v : operands)
                if (v != kNoValue)
                    marked[static_cast<std::size_t>(v)] = 0;
            changed = true;
        }
    }
    for (Node &n : g.mutableNodes()) {
        const ChannelsLastSlots slots = slotsOf(g, n);
        Attribute inputs;
        inputs.kind = Attribute::Kind::Ints;
        for (std::size_t i : slots.inputs)
            if (i < n.inputs.size() && isMarked(n.inputs[i]))
                inputs.ints.push_back(static_cast<std::int64_t>(i));
        if (!inputs.ints.empty())
            n.attributes["channels_last_inputs"] = inputs;
        if (slots.output && isMarked(n.outputs[0]))
            n.attributes["channels_last_output"] = intAttribute(1);
    }
    return static_cast<int>(std::count(marked.begin(), marked.end(), 1));
}

int markInt8ChannelsLast(Graph &g)
{
    return markChannelsLast(g, int8ChannelsLastSlots, [&](ValueId v) {
        const graph::Value &value = g.value(v);
        return isInt8Type(value.info.type) && value.info.shape.rankKnown &&
               value.info.shape.rank() == 4;
    });
}

// The 4-D float32 values: declared so, or (exporters often leave the
// intermediate values' types out) the output of a conv with 4-D weights or
// of a 2-D MaxPool reading one.
std::vector<char> floatRank4Values(const Graph &g)
{
    std::vector<char> float4(g.values().size(), 0);
    for (std::size_t v = 0; v < g.values().size(); ++v) {
        const graph::TensorInfo &info = g.values()[v].info;
        float4[v] = info.type == graph::ElementType::Float32 && info.shape.rankKnown &&
                    info.shape.rank() == 4;
    }
    for (const Node &n : g.nodes()) {
        if (n.outputs.size() != 1 || n.outputs[0] == kNoValue || n.inputs.empty() ||
            n.inputs[0] == kNoValue || !float4[static_cast<std::size_t>(n.inputs[0])])
            continue;
        const graph::TensorInfo &out = g.value(n.outputs[0]).info;
        const bool undeclared = out.type == graph::ElementType::Undefined || !out.shape.rankKnown;
        if (!undeclared ||
            (out.type != graph::ElementType::Undefined && out.type != graph::ElementType::Float32))
            continue;
        bool keepsRank4 = false;
        if ((n.opType == "Conv" && n.domain.empty()) ||
            (n.opType == "FusedConv" && n.domain == "sb")) {
            const graph::TensorData *w =
                n.inputs.size() > 1 ? constantData(g, n.inputs[1]) : nullptr;
            keepsRank4 = w && w->dims().size() == 4;
        } else if (n.opType == "MaxPool" && n.domain.empty()) {
            keepsRank4 = n.intsAttr("kernel_shape").size() == 2;
        } else if (n.opType == "FusedPointwiseDepthwise" && n.domain == "sb") {
            keepsRank4 = true; // its kernels take 2-D convs only
        }
        float4[static_cast<std::size_t>(n.outputs[0])] = keepsRank4 ? 1 : 0;
    }
    return float4;
}

int markFloatChannelsLast(Graph &g, std::int64_t pointwiseDepthwisePlane)
{
    const std::vector<char> float4 = floatRank4Values(g);
    return markChannelsLast(
        g,
        [&](const Graph &graph, const Node &n) {
            return floatChannelsLastSlots(graph, n, float4, pointwiseDepthwisePlane);
        },
        [&](ValueId v) { return float4[static_cast<std::size_t>(v)] != 0; });
}

} // namespace

FusionReport applyFusions(graph::Graph &graph, const FusionOptions &options)
{
    FusionReport report;
    graph.rebuildIndex();
    Rewriter rw(graph);
    if (options.qdq)
        report.qdq = fuseQdq(rw);
    if (options.layerNorm)
        report.layerNorm = fuseLayerNorm(rw);
    if (options.gelu)
        report.gelu = fuseGelu(rw);
    if (options.biasActivation) {
        report.matmulEpilogue = fuseMatMulEpilogue(rw);
        if (options.residualAdd)
            report.convResidual = fuseConvResidual(rw);
        report.convEpilogue = fuseConvEpilogue(rw);
    }
    if (options.pointwiseDepthwise)
        report.pointwiseDepthwise = fusePointwiseDepthwise(rw);
    // Last: they only annotate the nodes the passes above left.
    if (options.qdq && options.int8ChannelsLast)
        report.int8ChannelsLast = markInt8ChannelsLast(graph);
    if (options.floatChannelsLast)
        report.floatChannelsLast =
            markFloatChannelsLast(graph, options.pointwiseDepthwiseChannelsLastPlane);
    return report;
}

} // namespace sb::runtime
