#include "ui/graph/model_data.h"

#include "core/common/sha256.h"
#include "core/graph/onnx_import.h"
#include "ui/run/run_backend.h"

#include <algorithm>

namespace sb::ui {

bool ModelData::isExpandable(int group) const
{
    if (group < 0 || std::size_t(group) >= groups.size())
        return false;
    const auto &nodes = groups[std::size_t(group)];
    if (nodes.size() > 1)
        return true;
    if (nodes.empty())
        return false;
    for (const auto &[name, attr] : graph->node(nodes.front()).attributes)
        if (attr.graph || !attr.graphs.empty())
            return true;
    return false;
}

QString ModelData::shapeText(graph::NodeId node) const
{
    const auto &outputs = graph->node(node).outputs;
    for (graph::ValueId value : outputs)
        if (value != graph::kNoValue)
            return QString::fromStdString(graph->value(value).info.shape.toString());
    return {};
}

QStringList ModelData::unboundSymbols(const std::map<std::string, std::int64_t> &dims) const
{
    QStringList symbols;
    if (!graph)
        return symbols;
    const auto batch = cost::batchSymbols(*graph);
    for (graph::ValueId input : graph->inputs())
        for (const graph::Dim &dim : graph->value(input).info.shape.dims) {
            if (!dim.isSymbolic() || dims.count(dim.symbol) || bindings.dims.count(dim.symbol) ||
                std::find(batch.begin(), batch.end(), dim.symbol) != batch.end())
                continue;
            const QString symbol = QString::fromStdString(dim.symbol);
            if (!symbols.contains(symbol))
                symbols << symbol;
        }
    return symbols;
}

namespace {

Result<std::shared_ptr<ModelData>> buildModelData(std::shared_ptr<const graph::Graph> graph,
                                                  const cost::DimBindings &bindings)
{
    auto data = std::make_shared<ModelData>();
    SB_ASSIGN_OR_RETURN(data->cost, cost::computeCost(*graph, bindings));
    data->bindings = bindings;
    data->valueBytes.assign(graph->values().size(), 0);
    for (std::size_t v = 0; v < graph->values().size(); ++v) {
        const auto &info = graph->values()[v].info;
        if (auto dims = cost::resolveShape(info.shape, *graph, bindings)) {
            std::uint64_t count = 1;
            for (std::int64_t d : *dims)
                count *= std::uint64_t(std::max<std::int64_t>(d, 0));
            data->valueBytes[v] = count * graph::elementSize(info.type);
        }
    }
    const int nodeCount = int(graph->nodes().size());
    data->groupOfNode.assign(std::size_t(nodeCount), -1);
    for (const auto &block : graph->blocks()) {
        if (block.nodes.empty())
            continue;
        const int index = int(data->groups.size());
        data->groups.push_back(block.nodes);
        data->groupNames.push_back(block.name);
        for (graph::NodeId node : block.nodes)
            if (node >= 0 && node < nodeCount)
                data->groupOfNode[std::size_t(node)] = index;
    }
    // Nodes no block claims become singleton groups, so every node is shown.
    for (int node = 0; node < nodeCount; ++node) {
        if (data->groupOfNode[std::size_t(node)] >= 0)
            continue;
        data->groupOfNode[std::size_t(node)] = int(data->groups.size());
        data->groups.push_back({node});
        data->groupNames.push_back(graph->node(node).name);
    }
    data->path = QString::fromStdString(graph->modelPath.string());
    data->graph = std::move(graph);
    return data;
}

} // namespace

Result<std::shared_ptr<const ModelData>> makeModelData(std::shared_ptr<const graph::Graph> graph,
                                                       const cost::DimBindings &bindings)
{
    SB_ASSIGN_OR_RETURN(auto data, buildModelData(std::move(graph), bindings));
    return std::shared_ptr<const ModelData>(std::move(data));
}

Result<std::shared_ptr<const ModelData>> loadModel(const std::filesystem::path &path,
                                                   const cost::DimBindings &bindings,
                                                   const ProgressFn &progress,
                                                   const CancelToken &cancel)
{
    if (progress)
        progress(0.05, "Importing " + path.filename().string());
    SB_ASSIGN_OR_RETURN(auto graph, graph::importOnnxFile(path));
    if (cancel.isCancelled())
        return makeError(ErrorCode::Cancelled, "import cancelled");
    if (progress)
        progress(0.6, "Computing costs");
    SB_ASSIGN_OR_RETURN(auto data, buildModelData(std::move(graph), bindings));
    if (progress)
        progress(0.75, "Predicting node times");
    // What each node costs on one default local CPU device (cores split in two).
    const int threads = std::max(1, plan::hardwareThreads() / 2);
    if (auto predicted =
            plan::predictSourceNodes(data->graph, guiKernelRegistry(), plan::storedKernelRates(),
                                     threads, bindings.batch.value_or(1), bindings.dims)) {
        data->predicted = std::move(*predicted);
        data->predictedThreads = threads;
    }
    // Plans name the model by its file hash; hashing here keeps it off the GUI thread.
    if (progress)
        progress(0.9, "Hashing " + path.filename().string());
    SB_ASSIGN_OR_RETURN(data->sha256, sha256File(path));
    if (progress)
        progress(1.0, "Imported");
    return std::shared_ptr<const ModelData>(std::move(data));
}

} // namespace sb::ui
