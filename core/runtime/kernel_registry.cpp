#include "core/runtime/kernel_registry.h"

#include <set>

namespace sb::runtime {

std::string inputShapesKey(const std::vector<const Shape *> &inputs)
{
    std::string key;
    for (const Shape *shape : inputs) {
        if (!shape) {
            key += "-;";
            continue;
        }
        for (std::size_t d = 0; d < shape->size(); ++d) {
            if (d > 0)
                key += 'x';
            key += std::to_string((*shape)[d]);
        }
        key += ';';
    }
    return key;
}

const char *deviceKindName(DeviceKind kind)
{
    return kind == DeviceKind::Cpu ? "cpu" : "cuda";
}

KernelContext::KernelContext(const graph::Node &node, int opset, std::vector<const Tensor *> inputs,
                             std::vector<Tensor> &outputs, OutputAllocator &allocator,
                             ThreadPool &pool)
    : m_node(node), m_opset(opset), m_inputs(std::move(inputs)), m_outputs(outputs),
      m_allocator(allocator), m_pool(pool)
{}

bool KernelContext::hasOutput(std::size_t i) const
{
    return i < m_node.outputs.size() && m_node.outputs[i] != graph::kNoValue;
}

Result<Tensor *> KernelContext::allocateOutput(std::size_t i, ElementType type, const Shape &shape)
{
    for (std::int64_t d : shape)
        if (d < 0)
            return invalid("output " + std::to_string(i) + " has negative dim in shape " +
                           shapeToString(shape));
    if (i >= m_outputs.size())
        return invalid("kernel wrote output " + std::to_string(i) + " but the node has only " +
                       std::to_string(m_outputs.size()));
    graph::ValueId value = hasOutput(i) ? m_node.outputs[i] : graph::kNoValue;
    if (value == graph::kNoValue) {
        m_outputs[i] = Tensor::empty(type, shape);
        return &m_outputs[i];
    }
    SB_ASSIGN_OR_RETURN(m_outputs[i], m_allocator.allocate(value, type, shape));
    return &m_outputs[i];
}

void KernelContext::setOutput(std::size_t i, Tensor tensor)
{
    if (i < m_outputs.size())
        m_outputs[i] = std::move(tensor);
}

Error KernelContext::unsupported(const std::string &what) const
{
    std::string op = m_node.domain.empty() ? m_node.opType : m_node.domain + "." + m_node.opType;
    return makeError(ErrorCode::Unsupported,
                     "node '" + m_node.name + "' (" + op + "): unsupported " + what);
}

Error KernelContext::invalid(const std::string &what) const
{
    return makeError(ErrorCode::InvalidInput,
                     "node '" + m_node.name + "' (" + m_node.opType + "): " + what);
}

void KernelRegistry::add(KernelInfo info)
{
    Key key{info.opType, info.domain, info.device, info.variant};
    m_kernels[key] = std::move(info);
}

void KernelRegistry::setDefaultProfile(const std::string &opType, const std::string &domain,
                                       DeviceKind device, const ProfileFn &profile)
{
    for (KernelVariant variant : {KernelVariant::Reference, KernelVariant::Fast}) {
        auto it = m_kernels.find(Key{opType, domain, device, variant});
        if (it != m_kernels.end() && !it->second.profile)
            it->second.profile = profile;
    }
}

const KernelInfo *KernelRegistry::findExact(const std::string &opType, const std::string &domain,
                                            DeviceKind device, KernelVariant variant) const
{
    std::string normalized = domain == "ai.onnx" ? std::string() : domain;
    auto it = m_kernels.find(Key{opType, normalized, device, variant});
    return it == m_kernels.end() ? nullptr : &it->second;
}

const KernelInfo *KernelRegistry::find(const std::string &opType, const std::string &domain,
                                       DeviceKind device, KernelVariant preferred) const
{
    if (const KernelInfo *info = findExact(opType, domain, device, preferred))
        return info;
    KernelVariant other =
        preferred == KernelVariant::Fast ? KernelVariant::Reference : KernelVariant::Fast;
    return findExact(opType, domain, device, other);
}

Support KernelRegistry::supports(const graph::Node &node, const graph::Graph &graph,
                                 DeviceKind device) const
{
    const KernelInfo *info = find(node.opType, node.domain, device);
    std::string op = node.domain.empty() ? node.opType : node.domain + "." + node.opType;
    if (!info)
        return Support::no("op " + op + " has no " + deviceKindName(device) + " kernel");
    if (info->check) {
        if (auto reason = info->check(node, graph))
            return Support::no("op " + op + " (node '" + node.name + "'): " + *reason);
    }
    return Support::yes();
}

std::vector<std::string> KernelRegistry::opTypes(DeviceKind device) const
{
    std::set<std::string> names;
    for (const auto &[key, info] : m_kernels)
        if (info.device == device)
            names.insert(info.domain.empty() ? info.opType : info.domain + "." + info.opType);
    return {names.begin(), names.end()};
}

} // namespace sb::runtime
