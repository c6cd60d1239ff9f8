// Block grouping: nodes shown and planned as one unit, found from the name
// scopes exporters write into node names.
//
//   PyTorch/HF:   /encoder/layer.3/attention/self/MatMul  -> /encoder/layer.3
//   timm/GPT:     /blocks.3/attn/qkv/MatMul               -> /blocks.3
//   torchvision:  /layer1/layer1.0/conv1/Conv             -> /layer1/layer1.0
//
// Contract:
//  - A scope component "stem.N" (a ModuleList/Sequential index) is "numbered";
//    a family is the set of numbered siblings with the same parent and stem.
//    A node belongs to the block of its shallowest numbered component whose
//    family has at least two members (a repeated layer).
//  - Other scoped nodes are grouped by their shortest scope prefix that does
//    not contain repeated layers: /embeddings (BERT), /transformer/wte (GPT-2,
//    whose layers live in /transformer/h.N), /conv1 (torchvision).
//  - Nodes without a scope ("Conv_12", "/Add") are single-node blocks named
//    after the node, except nodes reading only initializers (PyTorch's
//    Identity copies of deduplicated weights, Constant nodes), which join the
//    block of their first consumer.
//  - Blocks are contiguous runs of Graph::nodes(): when the block-level graph
//    is acyclic the nodes are reordered (still topologically) so each block is
//    one run. Otherwise the original order is kept and a block whose nodes are
//    interleaved with another is split into runs named "NAME (2)", "NAME (3)"...
//  - groupBlocks() rewrites node order and Node::block, fills Graph::blocks()
//    and calls rebuildIndex(). ValueIds are unchanged; NodeIds may change.
#pragma once

#include "core/graph/graph.h"

#include <string>
#include <vector>

namespace sb::graph {

// "/encoder/layer.3/attention/MatMul" -> {"encoder", "layer.3", "attention"};
// empty for names without a leading '/' scope.
std::vector<std::string> nameScopes(const std::string &nodeName);

// The block name each node would get (indexed by NodeId), before the
// contiguity split. Empty for single-node blocks.
std::vector<std::string> blockKeys(const Graph &graph);

void groupBlocks(Graph &graph);

} // namespace sb::graph
