// The plan file: which device runs which node, for one model and batch.
//
// Format (version 1, JSON object):
//   {
//     "version": 1,                      // required; newer versions are rejected
//     "model_sha256": "ab12...",         // required; SHA-256 of the .onnx file
//     "batch": 8,                        // required; whole batch size, >= 1
//     "microbatches": 4,                 // required; >= 1, must divide batch
//     "objective": "throughput",         // optional; what the planner optimised
//     "devices": [ {"id": "cpu:0", "kind": "cpu", "memory_bytes": 2147483648,
//                   "flops": 4.1e10, "memory_bandwidth": 8e9, "threads": 1,
//                   "price_per_hour": 0, "name": "...", "source": "..."} ],
//     "links": [ {"from": "cpu:0", "to": "cpu:1", "name": "shared-memory",
//                 "bandwidth": 8e9, "latency_s": 5e-6} ],      // optional
//     "assignment": {"/blocks.0/MatMul": "cpu:0", ...},        // node name -> device id
//     "pinned": ["/head/MatMul"],        // optional; nodes the planner must not move
//     "dims": {"seq": 64},               // optional; symbolic dims bound for estimates
//     "tensor_parallel": []              // reserved for tensor-parallel groups (later)
//   }
// Compatibility rule (documented in docs/plan-format.md): a v1 reader keeps
// unknown top-level keys (they are written back unchanged, so a newer tool's
// annotations survive a round trip through an older one) and ignores unknown
// keys inside devices/links. "tensor_parallel" must be absent or empty for v1
// runners: a non-empty list is reported by validation as unsupported, never
// silently dropped. A higher "version" is rejected.
#pragma once

#include "core/common/result.h"
#include "core/plan/devices.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace sb::plan {

inline constexpr int kPlanVersion = 1;

struct Plan
{
    int version = kPlanVersion;
    std::string modelSha256;
    std::int64_t batch = 1;
    int microbatches = 1;
    std::string objective; // "throughput", "latency" or "" (hand-written)
    DeviceSet devices;
    std::map<std::string, std::string> assignment; // node name -> device id
    std::vector<std::string> pinned;
    std::map<std::string, std::int64_t> dims; // other symbolic dims for estimates ("seq": 64)
    nlohmann::json tensorParallel = nlohmann::json::array();
    nlohmann::json extra = nlohmann::json::object(); // unknown top-level keys, kept as-is
};

// Errors name the source and the key, e.g. "plan.json: \"assignment\"
// [\"/fc/Gemm\"] must be a device id string".
Result<Plan> parsePlan(const std::string &text, const std::string &sourceName);
Result<Plan> readPlanFile(const std::filesystem::path &path);

nlohmann::json planToJson(const Plan &plan);
nlohmann::json deviceToJson(const DeviceSpec &device);
Status writePlanFile(const Plan &plan, const std::filesystem::path &path);

} // namespace sb::plan
