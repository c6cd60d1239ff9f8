// Demo step 10: import the bundled demo models and summarise them.
#include "app/cli/demo.h"

#include "core/common/paths.h"
#include "core/cost/cost_model.h"
#include "core/graph/onnx_import.h"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <ostream>

namespace sb::cli {
namespace {

constexpr std::int64_t kDemoSequenceLength = 64;

std::string flopsText(double flops)
{
    const char *units[] = {"FLOP", "KFLOP", "MFLOP", "GFLOP", "TFLOP"};
    int i = 0;
    while (flops >= 1000.0 && i < 4) {
        flops /= 1000.0;
        ++i;
    }
    char text[48];
    std::snprintf(text, sizeof text, "%.2f %s", flops, units[i]);
    return text;
}

Status summarise(std::ostream &out, const std::filesystem::path &path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return makeError(ErrorCode::NotFound,
                         path.string() + ": demo model missing (resources/demo is incomplete)");
    auto imported = graph::importOnnxFile(path);
    if (!imported)
        return imported.error();
    const graph::Graph &model = **imported;
    cost::DimBindings bindings;
    bindings.batch = 1;
    // Other symbolic input dims (the decoder's `seq`) get a typical length.
    const auto batchSymbols = cost::batchSymbols(model);
    std::string bound = "batch 1";
    for (auto id : model.inputs())
        for (const auto &dim : model.value(id).info.shape.dims)
            if (dim.isSymbolic() && !bindings.dims.count(dim.symbol) &&
                std::find(batchSymbols.begin(), batchSymbols.end(), dim.symbol) ==
                    batchSymbols.end()) {
                bindings.dims[dim.symbol] = kDemoSequenceLength;
                bound += ", " + dim.symbol + " " + std::to_string(kDemoSequenceLength);
            }
    auto costs = cost::computeCost(model, bindings);
    if (!costs)
        return costs.error().withContext(path.string());

    out << path.filename().string() << ": " << model.nodes().size() << " nodes, "
        << costs->total.paramCount << " parameters (" << std::fixed << std::setprecision(2)
        << static_cast<double>(costs->total.paramBytes) / (1024.0 * 1024.0) << " MiB), "
        << flopsText(costs->total.flops) << " at " << bound
        << (costs->total.exact ? "" : " (some shapes unresolved)") << ", " << model.blocks().size()
        << " blocks\n";
    for (auto id : model.inputs())
        out << "  input  " << model.value(id).name << " "
            << graph::elementTypeName(model.value(id).info.type) << " "
            << model.value(id).info.shape.toString() << "\n";
    for (auto id : model.outputs())
        out << "  output " << model.value(id).name << " "
            << graph::elementTypeName(model.value(id).info.type) << " "
            << model.value(id).info.shape.toString() << "\n";
    // The heaviest blocks, which is what the planner balances.
    std::vector<std::size_t> order(model.blocks().size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return costs->blocks[a].flops > costs->blocks[b].flops;
    });
    out << "  heaviest blocks:";
    for (std::size_t i = 0; i < order.size() && i < 4; ++i)
        out << " " << model.blocks()[order[i]].name << " ("
            << flopsText(costs->blocks[order[i]].flops) << ")";
    out << "\n";
    out.unsetf(std::ios::floatfield);
    return Status::success();
}

Status runModelSummary(DemoContext &ctx)
{
    SB_TRY(summarise(*ctx.out, demoClassifierPath()));
    SB_TRY(summarise(*ctx.out, demoDecoderPath()));
    return Status::success();
}

const DemoStepRegistrar registrar{10, "Model summary", runModelSummary};

} // namespace
} // namespace sb::cli
