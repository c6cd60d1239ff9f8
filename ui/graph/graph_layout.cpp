#include "ui/graph/graph_layout.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace sb::ui {

namespace {

std::mutex &graphvizMutex()
{
    static std::mutex mutex;
    return mutex;
}

// RAII for the Graphviz context and graph.
struct GvcDeleter
{
    void operator()(GVC_t *gvc) const { gvFreeContext(gvc); }
};
struct GraphDeleter
{
    GVC_t *gvc = nullptr;
    bool laidOut = false;
    void operator()(Agraph_t *g) const
    {
        if (laidOut)
            gvFreeLayout(gvc, g);
        agclose(g);
    }
};

char *mut(const char *text)
{
    return const_cast<char *>(text);
}

std::string inches(double pixels)
{
    return std::to_string(pixels / 72.0);
}

} // namespace

Result<LayoutResult> computeLayout(std::shared_ptr<const ModelData> model,
                                   std::vector<bool> expanded, const CancelToken &cancel)
{
    LayoutResult result;
    const auto &graph = *model->graph;
    const int groupCount = int(model->groups.size());
    expanded.resize(std::size_t(groupCount), false);

    // Visible items: collapsed blocks (and single-node groups) as one box.
    result.itemOfNode.assign(std::size_t(model->nodeCount()), -1);
    std::vector<bool> clustered(std::size_t(groupCount), false);
    // Edges inside expanded subgraphs: (from item, to item, value).
    std::vector<std::tuple<int, int, const graph::Value *>> bodyEdges;
    for (int g = 0; g < groupCount; ++g) {
        const auto &nodes = model->groups[std::size_t(g)];
        if (nodes.size() == 1 && expanded[std::size_t(g)] && model->isExpandable(g)) {
            // The node, then each body's nodes with the edges between them.
            clustered[std::size_t(g)] = true;
            const graph::NodeId owner = nodes.front();
            result.itemOfNode[std::size_t(owner)] = int(result.items.size());
            result.items.push_back(LayoutItem{g, owner, {}});
            for (const auto &[name, attr] : model->graph->node(owner).attributes) {
                std::vector<const graph::Graph *> bodies;
                if (attr.graph)
                    bodies.push_back(attr.graph.get());
                for (const auto &body : attr.graphs)
                    bodies.push_back(body.get());
                for (const graph::Graph *body : bodies) {
                    const int first = int(result.items.size());
                    for (const auto &bodyNode : body->nodes()) {
                        LayoutItem item{g, owner, {}};
                        item.bodyNode = &bodyNode;
                        item.bodyName = QString::fromStdString(name);
                        result.items.push_back(item);
                    }
                    for (const auto &value : body->values()) {
                        if (value.producer == graph::kNoNode)
                            continue;
                        for (graph::NodeId consumer : value.consumers)
                            bodyEdges.emplace_back(first + value.producer, first + consumer,
                                                   &value);
                    }
                }
            }
            continue;
        }
        if (nodes.size() > 1 && expanded[std::size_t(g)]) {
            clustered[std::size_t(g)] = true;
            for (graph::NodeId node : nodes) {
                result.itemOfNode[std::size_t(node)] = int(result.items.size());
                result.items.push_back(LayoutItem{g, node, {}});
            }
        } else {
            const int item = int(result.items.size());
            for (graph::NodeId node : nodes)
                result.itemOfNode[std::size_t(node)] = item;
            result.items.push_back(
                LayoutItem{g, nodes.size() == 1 ? nodes.front() : graph::kNoNode, {}});
        }
    }

    // Item-level edges, one per (from, to) pair.
    std::map<std::pair<int, int>, int> edgeIndex;
    for (std::size_t v = 0; v < graph.values().size(); ++v) {
        const auto &value = graph.values()[v];
        if (value.producer == graph::kNoNode)
            continue;
        const int from = result.itemOfNode[std::size_t(value.producer)];
        for (graph::NodeId consumer : value.consumers) {
            const int to = result.itemOfNode[std::size_t(consumer)];
            if (from == to)
                continue;
            auto [it, inserted] =
                edgeIndex.emplace(std::make_pair(from, to), int(result.edges.size()));
            if (inserted) {
                LayoutEdge edge;
                edge.from = from;
                edge.to = to;
                edge.label = QString::fromStdString(value.info.shape.toString());
                result.edges.push_back(std::move(edge));
            }
            LayoutEdge &edge = result.edges[std::size_t(it->second)];
            if (edge.nodeEdges.empty() || edge.nodeEdges.back().first != value.producer ||
                edge.nodeEdges.back().second != consumer)
                edge.bytes += model->valueBytes[v];
            edge.nodeEdges.emplace_back(value.producer, consumer);
        }
    }
    for (const auto &[from, to, value] : bodyEdges) {
        auto [it, inserted] = edgeIndex.emplace(std::make_pair(from, to), int(result.edges.size()));
        if (!inserted)
            continue;
        LayoutEdge edge;
        edge.from = from;
        edge.to = to;
        edge.label = QString::fromStdString(value->info.shape.toString());
        result.edges.push_back(std::move(edge));
    }
    if (cancel.isCancelled())
        return makeError(ErrorCode::Cancelled, "layout cancelled");

    std::lock_guard lock(graphvizMutex());
    const auto start = std::chrono::steady_clock::now();
    std::unique_ptr<GVC_t, GvcDeleter> gvc(gvContext());
    if (!gvc)
        return makeError(ErrorCode::Runtime, "Graphviz: cannot create a layout context");
    std::unique_ptr<Agraph_t, GraphDeleter> g(agopen(mut("model"), Agdirected, nullptr),
                                              GraphDeleter{gvc.get(), false});
    agattr(g.get(), AGRAPH, mut("rankdir"), mut("TB"));
    agattr(g.get(), AGRAPH, mut("nodesep"), mut("0.35"));
    agattr(g.get(), AGRAPH, mut("ranksep"), mut("0.45"));
    agattr(g.get(), AGRAPH, mut("margin"), mut("0.2"));
    agattr(g.get(), AGNODE, mut("shape"), mut("box"));
    agattr(g.get(), AGNODE, mut("fixedsize"), mut("true"));
    agattr(g.get(), AGNODE, mut("label"), mut(""));
    agattr(g.get(), AGNODE, mut("width"), mut(inches(kNodeWidth).c_str()));
    agattr(g.get(), AGNODE, mut("height"), mut(inches(kNodeHeight).c_str()));
    Agsym_t *widthSym = agattr(g.get(), AGNODE, mut("width"), nullptr);
    Agsym_t *heightSym = agattr(g.get(), AGNODE, mut("height"), nullptr);

    std::map<int, Agraph_t *> clusters;
    std::vector<Agnode_t *> gvNodes(result.items.size(), nullptr);
    const std::string blockWidth = inches(kBlockWidth), blockHeight = inches(kBlockHeight);
    for (std::size_t i = 0; i < result.items.size(); ++i) {
        const LayoutItem &item = result.items[i];
        Agraph_t *parent = g.get();
        if (item.node != graph::kNoNode && clustered[std::size_t(item.group)]) {
            auto &cluster = clusters[item.group];
            if (!cluster) {
                char name[32];
                std::snprintf(name, sizeof name, "cluster_%d", item.group);
                cluster = agsubg(g.get(), name, 1);
                agsafeset(cluster, mut("margin"), mut("18"), mut(""));
            }
            parent = cluster;
        }
        char name[32];
        std::snprintf(name, sizeof name, "n%zu", i);
        Agnode_t *n = agnode(parent, name, 1);
        if (item.node == graph::kNoNode) {
            agxset(n, widthSym, mut(blockWidth.c_str()));
            agxset(n, heightSym, mut(blockHeight.c_str()));
        }
        gvNodes[i] = n;
    }
    std::vector<Agedge_t *> gvEdges(result.edges.size(), nullptr);
    for (std::size_t e = 0; e < result.edges.size(); ++e)
        gvEdges[e] = agedge(g.get(), gvNodes[std::size_t(result.edges[e].from)],
                            gvNodes[std::size_t(result.edges[e].to)], nullptr, 1);
    if (cancel.isCancelled())
        return makeError(ErrorCode::Cancelled, "layout cancelled");

    if (gvLayout(gvc.get(), g.get(), "dot") != 0)
        return makeError(ErrorCode::Runtime, "Graphviz: the dot layout failed");
    g.get_deleter().laidOut = true;

    const boxf bb = GD_bb(g.get());
    const double height = bb.UR.y;
    auto toScene = [height](pointf p) { return QPointF(p.x, height - p.y); };
    for (std::size_t i = 0; i < result.items.size(); ++i) {
        const QPointF centre = toScene(ND_coord(gvNodes[i]));
        const double w = ND_width(gvNodes[i]) * 72.0, h = ND_height(gvNodes[i]) * 72.0;
        result.items[i].rect = QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h);
    }
    for (const auto &[group, cluster] : clusters) {
        const boxf cb = GD_bb(cluster);
        result.clusters.push_back(LayoutCluster{
            group, QRectF(toScene(cb.LL), toScene(cb.UR)).normalized().adjusted(0, -16, 0, 0)});
    }
    for (std::size_t e = 0; e < result.edges.size(); ++e) {
        LayoutEdge &edge = result.edges[e];
        const splines *spl = ED_spl(gvEdges[e]);
        QPainterPath path;
        if (spl && spl->size > 0 && spl->list[0].size > 0) {
            const bezier &bz = spl->list[0];
            path.moveTo(toScene(bz.sflag ? bz.sp : bz.list[0]));
            if (bz.sflag)
                path.lineTo(toScene(bz.list[0]));
            for (int k = 1; k + 2 < bz.size; k += 3)
                path.cubicTo(toScene(bz.list[k]), toScene(bz.list[k + 1]), toScene(bz.list[k + 2]));
            if (bz.eflag)
                path.lineTo(toScene(bz.ep));
        } else {
            path.moveTo(result.items[std::size_t(edge.from)].rect.center());
            path.lineTo(result.items[std::size_t(edge.to)].rect.center());
        }
        edge.path = path;
        edge.labelPos = path.pointAtPercent(0.5);
    }
    result.bounds = QRectF(0, 0, bb.UR.x - bb.LL.x, bb.UR.y - bb.LL.y).adjusted(-20, -20, 20, 20);
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.model = std::move(model);
    result.expanded = std::move(expanded);
    return result;
}

} // namespace sb::ui
