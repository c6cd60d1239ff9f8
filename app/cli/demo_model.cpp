// Demo step 10: import the bundled demo models and summarise them.
#include "app/cli/demo.h"

#include "core/common/paths.h"
#include "core/cost/cost_model.h"
#include "core/graph/onnx_import.h"

#include <algorithm>
#include <iomanip>
#include <ostream>

namespace sb::cli {
namespace {

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
    auto costs = cost::computeCost(model, bindings);
    if (!costs)
        return costs.error().withContext(path.string());

    out << path.filename().string() << ": " << model.nodes().size() << " nodes, "
        << costs->total.paramCount << " parameters ("
        << std::fixed << std::setprecision(2)
        << static_cast<double>(costs->total.paramBytes) / (1024.0 * 1024.0) << " MiB), "
        << costs->total.flops / 1e6 << " MFLOP at batch 1"
        << (costs->total.exact ? "" : " (some shapes unresolved)") << ", "
        << model.blocks().size() << " blocks\n";
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
            << costs->blocks[order[i]].flops / 1e6 << " MFLOP)";
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
