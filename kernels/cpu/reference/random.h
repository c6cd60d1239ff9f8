// The random engine of the random generator ops and of Dropout's training
// mode (kernels/cpu/reference/random.cpp).
#pragma once

#include "core/graph/graph.h"

#include <random>

namespace sb::kernels {

// Seeded from the node's `seed` attribute (its float bits) when it has one,
// else from std::random_device.
std::mt19937_64 randomEngine(const graph::Node &node);

} // namespace sb::kernels
