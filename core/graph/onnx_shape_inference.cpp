#include "core/graph/onnx_shape_inference.h"

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <set>
#include <unordered_map>
#include <unordered_set>

namespace sb::graph::detail {

namespace {

void mergeInferredShapes(ImportContext &ctx)
{
    for (auto &entry : ctx.graphs) {
        const onnx::GraphProto *proto = entry.first;
        Graph *graph = entry.second;
        auto merge = [&](const onnx::ValueInfoProto &info) {
            if (auto id = graph->findValue(info.name()))
                mergeInfo(graph->mutableValues()[static_cast<std::size_t>(*id)].info,
                          convertType(info.type()));
        };
        for (const auto &info : proto->value_info())
            merge(info);
        for (const auto &info : proto->output())
            merge(info);
    }
}

// Puts the proto's top-level nodes in the IR's (sorted) order so shape
// inference, which walks nodes in file order, sees producers first.
void reorderProtoNodes(onnx::GraphProto &proto, const Graph &graph)
{
    std::unordered_map<std::string, int> position;
    for (std::size_t i = 0; i < graph.nodes().size(); ++i)
        position[graph.nodes()[i].name] = static_cast<int>(i);
    // Proto node names may be empty or duplicated; map by original index instead.
    std::vector<int> target(static_cast<std::size_t>(proto.node_size()), -1);
    bool sorted = true;
    std::unordered_set<std::string> defined;
    for (const auto &init : proto.initializer())
        defined.insert(init.name());
    for (const auto &in : proto.input())
        defined.insert(in.name());
    for (const auto &n : proto.node()) {
        for (const auto &in : n.input())
            if (!in.empty() && !defined.count(in))
                sorted = false;
        for (const auto &out : n.output())
            defined.insert(out);
    }
    if (sorted)
        return;
    // Stable Kahn order over the proto itself (already known to be acyclic).
    const int count = proto.node_size();
    std::unordered_map<std::string, int> producer;
    for (int i = 0; i < count; ++i)
        for (const auto &out : proto.node(i).output())
            if (!out.empty())
                producer[out] = i;
    std::vector<std::vector<int>> succs(static_cast<std::size_t>(count));
    std::vector<int> indegree(static_cast<std::size_t>(count), 0);
    for (int i = 0; i < count; ++i) {
        std::set<int> deps;
        for (const auto &in : proto.node(i).input())
            if (auto it = producer.find(in); it != producer.end() && it->second != i)
                deps.insert(it->second);
        for (int d : deps) {
            succs[static_cast<std::size_t>(d)].push_back(i);
            ++indegree[static_cast<std::size_t>(i)];
        }
    }
    const std::vector<int> order = stableTopologicalOrder(succs, indegree);
    if (static_cast<int>(order.size()) != count)
        return; // implicit (subgraph) dependencies only; leave as is
    std::vector<onnx::NodeProto *> released(static_cast<std::size_t>(count));
    for (int i = count - 1; i >= 0; --i)
        released[static_cast<std::size_t>(i)] = proto.mutable_node()->ReleaseLast();
    for (int n : order)
        proto.mutable_node()->AddAllocated(released[static_cast<std::size_t>(n)]);
    (void)target;
    (void)position;
}

} // namespace

void inferShapesOnImport(ImportContext &ctx, Graph &graph)
{
    try {
        reorderProtoNodes(*ctx.model->mutable_graph(), graph);
        onnx::ShapeInferenceOptions inference(/*check_type=*/false, /*error_mode=*/0,
                                              /*data_prop=*/true);
        onnx::shape_inference::InferShapes(*ctx.model, onnx::OpSchemaRegistry::Instance(),
                                           inference);
        mergeInferredShapes(ctx);
    } catch (const std::exception &e) {
        std::string message = e.what();
        if (message.size() > 300)
            message = message.substr(0, 300) + "...";
        graph.diagnostics.push_back("shape inference stopped early: " + message);
        mergeInferredShapes(ctx);
    }
}

} // namespace sb::graph::detail
