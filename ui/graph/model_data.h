// An imported model as the GUI holds it: the immutable graph, its cost for the
// chosen micro-batch size, bytes per tensor, and the display groups (blocks).
// Built off the GUI thread; shared read-only afterwards.
#pragma once

#include "core/plan/predict.h"

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/cost/cost_model.h"
#include "core/graph/graph.h"

#include <QString>
#include <QStringList>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

namespace sb::ui {

struct ModelData
{
    std::shared_ptr<const graph::Graph> graph;
    cost::GraphCost cost;
    cost::DimBindings bindings;
    std::vector<std::uint64_t> valueBytes;          // per ValueId; 0 when unresolved
    std::vector<std::vector<graph::NodeId>> groups; // Graph::blocks(), or one per node
    std::vector<std::string> groupNames;
    std::vector<int> groupOfNode; // per NodeId
    QString path;                 // empty for in-memory graphs
    std::string sha256;           // of the .onnx file (plans record it); empty in memory
    // The cost model's per-node prediction (plan::predictSourceNodes) on one
    // default local CPU device of `predictedThreads` threads at the bindings'
    // batch; empty when not computed (in-memory graphs, no kernels).
    std::vector<plan::NodePrediction> predicted;
    int predictedThreads = 0;

    int nodeCount() const { return graph ? int(graph->nodes().size()) : 0; }
    // A group the graph view can expand: a block of several nodes, or one
    // node with subgraphs (If/Loop/Scan), whose body nodes it then shows.
    bool isExpandable(int group) const;
    QString shapeText(graph::NodeId node) const; // first output's shape
    // Symbolic dims of the graph inputs that neither the batch nor `dims`
    // binds ("seq"): costs of nodes that depend on them are not counted.
    QStringList unboundSymbols(const std::map<std::string, std::int64_t> &dims) const;
};

// Wraps an already built graph: cost under `bindings`, value sizes, groups.
Result<std::shared_ptr<const ModelData>> makeModelData(std::shared_ptr<const graph::Graph> graph,
                                                       const cost::DimBindings &bindings);

// Imports an ONNX file and builds its ModelData (for a worker thread).
Result<std::shared_ptr<const ModelData>> loadModel(const std::filesystem::path &path,
                                                   const cost::DimBindings &bindings,
                                                   const ProgressFn &progress,
                                                   const CancelToken &cancel);

} // namespace sb::ui
