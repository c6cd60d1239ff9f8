// Layered top-to-bottom layout of the visible graph through Graphviz (libgvc,
// the "dot" engine). Collapsed blocks are one box; expanded blocks show their
// nodes inside a cluster, an expanded node with subgraphs (If/Loop/Scan) shows
// itself and its bodies' nodes there. Runs on a worker thread (Graphviz calls are
// serialised by a mutex: libgvc keeps global state).
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "ui/graph/model_data.h"

#include <QPainterPath>
#include <QRectF>
#include <QString>

#include <memory>
#include <vector>

namespace sb::ui {

struct LayoutItem
{
    int group = -1;
    graph::NodeId node = graph::kNoNode; // kNoNode: a collapsed block
    QRectF rect;
    // A node of `node`'s subgraph (an expanded If/Loop/Scan shows its bodies'
    // nodes in its cluster); it runs where `node` is placed. Null otherwise.
    const graph::Node *bodyNode = nullptr;
    QString bodyName = {}; // the attribute holding it: "then_branch", "body"
};

struct LayoutEdge
{
    int from = -1, to = -1; // item indices
    QPainterPath path;      // scene coordinates, ends at the target's border
    QPointF labelPos;
    QString label;     // the first tensor's shape
    quint64 bytes = 0; // sum over the tensors this edge carries
    // Node-level edges folded into this one (for cut detection).
    std::vector<std::pair<graph::NodeId, graph::NodeId>> nodeEdges;
};

struct LayoutCluster
{
    int group = -1;
    QRectF rect;
};

struct LayoutResult
{
    std::shared_ptr<const ModelData> model;
    std::vector<bool> expanded;
    std::vector<LayoutItem> items;
    std::vector<LayoutEdge> edges;
    std::vector<LayoutCluster> clusters;
    std::vector<int> itemOfNode; // per NodeId: the item showing it
    QRectF bounds;
    double seconds = 0; // time spent in Graphviz
};

inline constexpr double kNodeWidth = 170, kNodeHeight = 44;
inline constexpr double kBlockWidth = 210, kBlockHeight = 54;

// `expanded` has one flag per group (ModelData::groups).
Result<LayoutResult> computeLayout(std::shared_ptr<const ModelData> model,
                                   std::vector<bool> expanded, const CancelToken &cancel);

} // namespace sb::ui
