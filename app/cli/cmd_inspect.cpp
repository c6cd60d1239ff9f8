// `shardbench-cli inspect MODEL.onnx [--batch N] [--dim NAME=V]... [--json]`
#include "app/cli/command.h"

#include "core/cost/cost_model.h"
#include "core/graph/onnx_import.h"
#include "kernels/registry.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace sb::cli {
namespace {

using graph::Graph;

nlohmann::json shapeJson(const graph::Shape &shape)
{
    if (!shape.rankKnown)
        return nullptr;
    nlohmann::json dims = nlohmann::json::array();
    for (const auto &dim : shape.dims) {
        if (dim.isKnown())
            dims.push_back(dim.value);
        else if (dim.isSymbolic())
            dims.push_back(dim.symbol);
        else
            dims.push_back(nullptr);
    }
    return dims;
}

std::string humanCount(double value, const char *unit)
{
    const char *prefixes[] = {"", "K", "M", "G", "T", "P"};
    int i = 0;
    while (value >= 1000.0 && i < 5) {
        value /= 1000.0;
        ++i;
    }
    std::ostringstream out;
    out << std::fixed << std::setprecision(i == 0 ? 0 : 2) << value << " " << prefixes[i] << unit;
    return out.str();
}

std::string humanBytes(double bytes)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (bytes >= 1024.0 && i < 4) {
        bytes /= 1024.0;
        ++i;
    }
    std::ostringstream out;
    out << std::fixed << std::setprecision(i == 0 ? 0 : 2) << bytes << " " << units[i];
    return out.str();
}

std::string domainName(const std::string &domain)
{
    return domain.empty() ? "ai.onnx" : domain;
}

int runInspect(Args &args)
{
    ArgSpec spec("inspect MODEL.onnx [--batch N] [--dim NAME=V]... [--json]",
                 "Summarise an ONNX model: producer, IR/opset versions, inputs and outputs with\n"
                 "shapes, node count per op type, blocks with FLOPs, parameter and activation\n"
                 "bytes, and totals, for one binding of the symbolic dims.");
    spec.positional("MODEL.onnx", "the model file (external data resolves next to it)");
    spec.option("batch", "N", "bind the batch dim (dim 0 of symbolic graph inputs) to N", "1");
    spec.multi("dim", "NAME=V", "bind the symbolic dim NAME to V (wins over --batch)");
    spec.option("device", "KIND",
                "also list the nodes without a kernel on this device kind (cpu, cuda): on such "
                "a device they run on the CPU, with copies");
    spec.flag("json", "print one JSON object on stdout");
    spec.epilog("Exit codes: 0 ok, 2 unreadable or malformed model, bad option.\n"
                "Example: shardbench-cli inspect decoder.onnx --batch 4 --dim seq=128 --json");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;

    cost::DimBindings bindings;
    auto batch = parsed.getInt("batch", 1);
    if (!batch)
        return reportError(args.command, batch.error());
    if (*batch <= 0)
        return reportError(
            args.command, makeError(ErrorCode::InvalidInput, "--batch must be a positive integer"));
    bindings.batch = *batch;
    for (const auto &text : parsed.all("dim")) {
        auto binding = cost::parseDimBinding(text);
        if (!binding)
            return reportError(args.command, binding.error().withContext("--dim"));
        bindings.dims[binding->first] = binding->second;
    }

    const std::string modelPath = parsed.positional.at(0);
    auto imported = graph::importOnnxFile(modelPath);
    if (!imported)
        return reportError(args.command, imported.error());
    const Graph &model = **imported;
    auto costs = cost::computeCost(model, bindings);
    if (!costs)
        return reportError(args.command, costs.error().withContext(modelPath));

    // --device: nodes the kind's kernels do not cover (they fall back to the CPU).
    std::optional<runtime::DeviceKind> kind;
    if (parsed.has("device")) {
        const std::string name = parsed.get("device");
        if (name == "cpu")
            kind = runtime::DeviceKind::Cpu;
        else if (name == "cuda")
            kind = runtime::DeviceKind::Cuda;
        else
            return reportError(args.command,
                               makeError(ErrorCode::InvalidInput,
                                         "--device '" + name + "': expected cpu or cuda"));
    }
    std::vector<std::pair<const graph::Node *, std::string>> fallbacks;
    if (kind)
        for (const auto &node : model.nodes()) {
            runtime::Support support = kernels::defaultRegistry().supports(node, model, *kind);
            if (!support.supported)
                fallbacks.emplace_back(&node, support.reason);
        }

    std::map<std::string, int> opCounts;
    for (const auto &node : model.nodes())
        ++opCounts[node.domain.empty() ? node.opType : node.domain + "::" + node.opType];
    std::string batchReason;
    bool batchSymbolic = cost::batchIsSymbolicThroughout(model, &batchReason);
    auto symbols = cost::batchSymbols(model);
    std::map<std::string, std::int64_t> bound;
    for (const auto &symbol : symbols)
        bound[symbol] = *bindings.batch;
    for (const auto &[name, value] : bindings.dims)
        bound[name] = value;

    // Symbols that still have no value (e.g. `seq`): FLOPs/bytes are partial.
    std::set<std::string> unbound;
    for (const auto &value : model.values())
        for (const auto &dim : value.info.shape.dims)
            if (dim.isSymbolic() && !bound.count(dim.symbol) &&
                (value.isGraphInput || value.isGraphOutput))
                unbound.insert(dim.symbol);

    if (parsed.flag("json")) {
        nlohmann::json out;
        out["model"] = modelPath;
        out["producer"] = model.producerName;
        out["producer_version"] = model.producerVersion;
        out["ir_version"] = model.irVersion;
        nlohmann::json opsets = nlohmann::json::object();
        for (const auto &[domain, version] : model.opsets)
            opsets[domainName(domain)] = version;
        out["opsets"] = opsets;
        auto tensors = [&](const std::vector<graph::ValueId> &ids) {
            nlohmann::json list = nlohmann::json::array();
            for (auto id : ids) {
                const auto &value = model.value(id);
                list.push_back({{"name", value.name},
                                {"dtype", graph::elementTypeName(value.info.type)},
                                {"shape", shapeJson(value.info.shape)}});
            }
            return list;
        };
        out["inputs"] = tensors(model.inputs());
        out["outputs"] = tensors(model.outputs());
        out["node_count"] = model.nodes().size();
        out["op_counts"] = opCounts;
        out["param_count"] = costs->total.paramCount;
        out["param_bytes"] = costs->total.paramBytes;
        out["flops"] = costs->total.flops;
        out["activation_bytes"] = costs->total.activationBytes;
        out["flops_exact"] = costs->total.exact;
        out["bindings"] = bound;
        out["batch_symbols"] = symbols;
        out["unbound_symbols"] = unbound;
        out["batch_symbolic"] = batchSymbolic;
        out["batch_note"] = batchReason;
        nlohmann::json blocks = nlohmann::json::array();
        for (std::size_t b = 0; b < model.blocks().size(); ++b) {
            const auto &cost = costs->blocks[b];
            blocks.push_back({{"name", model.blocks()[b].name},
                              {"nodes", model.blocks()[b].nodes.size()},
                              {"flops", cost.flops},
                              {"param_count", cost.paramCount},
                              {"param_bytes", cost.paramBytes},
                              {"activation_bytes", cost.activationBytes},
                              {"exact", cost.exact}});
        }
        out["blocks"] = blocks;
        out["diagnostics"] = model.diagnostics;
        if (kind) {
            out["device"] = runtime::deviceKindName(*kind);
            nlohmann::json list = nlohmann::json::array();
            for (const auto &[node, reason] : fallbacks)
                list.push_back({{"node", node->name}, {"op", node->opType}, {"reason", reason}});
            out["fallback_nodes"] = list;
        }
        printJson(out);
        return kExitOk;
    }

    std::ostream &out = std::cout;
    out << "model:     " << modelPath << "\n";
    out << "producer:  " << (model.producerName.empty() ? "(unknown)" : model.producerName) << " "
        << model.producerVersion << "\n";
    out << "IR:        " << model.irVersion << "   opsets:";
    for (const auto &[domain, version] : model.opsets)
        out << " " << domainName(domain) << "=" << version;
    out << "\n";
    auto printTensors = [&](const char *title, const std::vector<graph::ValueId> &ids) {
        out << title << "\n";
        for (auto id : ids) {
            const auto &value = model.value(id);
            out << "  " << std::left << std::setw(24) << value.name << " " << std::setw(8)
                << graph::elementTypeName(value.info.type) << " " << value.info.shape.toString()
                << "\n";
        }
    };
    printTensors("inputs:", model.inputs());
    printTensors("outputs:", model.outputs());
    out << "bindings: ";
    if (bound.empty())
        out << " (none: all dims static)";
    for (const auto &[name, value] : bound)
        out << " " << name << "=" << value;
    if (!unbound.empty()) {
        out << "   unbound:";
        for (const auto &name : unbound)
            out << " " << name;
        out << " (bind with --dim NAME=V for exact figures)";
    }
    out << "\n";
    out << "batch:     " << (batchSymbolic ? "symbolic (can vary)" : "fixed: " + batchReason)
        << "\n";
    out << "nodes:     " << model.nodes().size() << "\n";
    for (const auto &[op, count] : opCounts)
        out << "  " << std::left << std::setw(28) << op << " " << count << "\n";
    out << "blocks:    " << model.blocks().size() << "\n";
    out << "  " << std::left << std::setw(36) << "name" << std::right << std::setw(7) << "nodes"
        << std::setw(16) << "FLOPs" << std::setw(14) << "params" << std::setw(14) << "activations"
        << "\n";
    for (std::size_t b = 0; b < model.blocks().size(); ++b) {
        const auto &block = model.blocks()[b];
        const auto &cost = costs->blocks[b];
        std::string name = block.name.size() > 35 ? block.name.substr(0, 32) + "..." : block.name;
        out << "  " << std::left << std::setw(36) << name << std::right << std::setw(7)
            << block.nodes.size() << std::setw(16) << humanCount(cost.flops, "FLOP")
            << std::setw(14) << humanBytes(static_cast<double>(cost.paramBytes)) << std::setw(14)
            << humanBytes(static_cast<double>(cost.activationBytes)) << (cost.exact ? "" : " ~")
            << "\n";
    }
    const auto &total = costs->total;
    out << "totals:    " << total.paramCount << " parameters ("
        << humanBytes(static_cast<double>(total.paramBytes)) << "), "
        << humanCount(total.flops, "FLOP")
        << (total.exact ? "" : " (estimate: some shapes unresolved)") << ", activations "
        << humanBytes(static_cast<double>(total.activationBytes)) << "\n";
    if (kind) {
        out << "on " << runtime::deviceKindName(*kind) << ": " << fallbacks.size()
            << " node(s) without a kernel (run on the CPU with copies)\n";
        for (const auto &[node, reason] : fallbacks)
            out << "  " << node->name << ": " << reason << "\n";
    }
    for (const auto &note : model.diagnostics)
        std::cerr << "note: " << note << "\n";
    return kExitOk;
}

const CommandRegistrar registrar{
    "inspect", "Summarise an ONNX model (shapes, blocks, FLOPs, params)", runInspect};

} // namespace
} // namespace sb::cli
