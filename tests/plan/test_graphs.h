// Tiny hand-built graphs for planner and validator tests.
#pragma once

#include "core/graph/graph.h"

#include <cstdint>
#include <memory>

namespace sbtest {

// A chain of `layers` blocks over x:[batch, width] float32. Block k holds
// MatMul(h, W_k) -> Relu -> Add(relu, skip) where skip is the output of block
// k - 1 - (random distance in [0, maxSkip]) (a residual that may cross several
// blocks). Weights are all-zero initializers of width x width (values do not
// matter for planning). Deterministic for a seed. Node names are
// "/blocks.K/MatMul", "/blocks.K/Relu", "/blocks.K/Add".
std::shared_ptr<sb::graph::Graph> makeResidualChain(int layers, std::int64_t width,
                                                    std::uint32_t seed, int maxSkip = 2);

} // namespace sbtest
