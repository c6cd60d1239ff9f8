// `shardbench-cli ops`: which ops have kernels, per device kind, and which ops
// of given models lack one (those run on the CPU with copies).
#include "app/cli/command.h"

#include "core/graph/onnx_import.h"
#include "kernels/gpu_info.h"
#include "kernels/registry.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

namespace sb::cli {
namespace {

using runtime::DeviceKind;

std::string qualified(const graph::Node &node)
{
    return node.domain.empty() || node.domain == "ai.onnx" ? node.opType
                                                           : node.domain + "." + node.opType;
}

int runOps(Args &args)
{
    ArgSpec spec("ops [--model MODEL.onnx]... [--json]",
                 "List the ops that have a kernel, per device kind (cpu, cuda). With --model,\n"
                 "also list each model's ops and those without a kernel on a device kind\n"
                 "(on a CUDA device those nodes run on the CPU, with copies).");
    spec.multi("model", "MODEL.onnx", "a model whose ops to check");
    spec.flag("json", "print one JSON object");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    const runtime::KernelRegistry &registry = kernels::defaultRegistry();
    const DeviceKind kinds[] = {DeviceKind::Cpu, DeviceKind::Cuda};
    std::map<std::string, std::vector<std::string>> byKind;
    for (DeviceKind kind : kinds)
        byKind[runtime::deviceKindName(kind)] = registry.opTypes(kind);

    nlohmann::json models = nlohmann::json::array();
    struct ModelOps
    {
        std::string path;
        std::set<std::string> ops;
        std::map<std::string, std::vector<std::string>> missing;
    };
    std::vector<ModelOps> checked;
    for (const std::string &path : parsed.all("model")) {
        auto graph = graph::importOnnxFile(path);
        if (!graph)
            return reportError(args.command, graph.error());
        ModelOps entry;
        entry.path = path;
        for (const graph::Node &node : (*graph)->nodes())
            entry.ops.insert(qualified(node));
        for (DeviceKind kind : kinds) {
            const std::string name = runtime::deviceKindName(kind);
            auto &missing = entry.missing[name];
            for (const std::string &op : entry.ops)
                if (!std::binary_search(byKind[name].begin(), byKind[name].end(), op))
                    missing.push_back(op);
        }
        checked.push_back(std::move(entry));
    }

    if (parsed.flag("json")) {
        nlohmann::json kernels = nlohmann::json::object();
        for (const auto &[kind, ops] : byKind)
            kernels[kind] = ops;
        for (const ModelOps &entry : checked)
            models.push_back({{"model", entry.path},
                              {"ops", std::vector<std::string>(entry.ops.begin(), entry.ops.end())},
                              {"without_kernel", entry.missing}});
        nlohmann::json doc{{"kernels", kernels},
                           {"built_with_cuda", kernels::builtWithCuda()},
                           {"models", models}};
        printJson(doc);
        return kExitOk;
    }
    for (const auto &[kind, ops] : byKind) {
        std::printf("%s: %zu ops\n", kind.c_str(), ops.size());
        std::size_t column = 0;
        for (const std::string &op : ops) {
            if (column && column + op.size() + 1 > 78) {
                std::printf("\n");
                column = 0;
            }
            column += static_cast<std::size_t>(std::printf("%s %s", column ? "" : " ", op.c_str()));
        }
        if (column)
            std::printf("\n");
    }
    if (!kernels::builtWithCuda())
        std::printf("(built without CUDA: no cuda kernels)\n");
    for (const ModelOps &entry : checked) {
        std::printf("%s: %zu op types\n", entry.path.c_str(), entry.ops.size());
        for (const auto &[kind, missing] : entry.missing) {
            std::printf("  without a %s kernel:", kind.c_str());
            if (missing.empty())
                std::printf(" none");
            for (const std::string &op : missing)
                std::printf(" %s", op.c_str());
            std::printf("\n");
        }
    }
    return kExitOk;
}

const CommandRegistrar registrar{"ops", "List the ops with kernels per device kind (cpu, cuda)",
                                 runOps};

} // namespace
} // namespace sb::cli
