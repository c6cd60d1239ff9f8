// libFuzzer target: arbitrary bytes through the ONNX importer and, when they
// import, through the cost model (which re-runs shape inference with shape
// folding). Any crash, sanitizer report, hang or leak is a bug.
#include "core/cost/cost_model.h"
#include "core/graph/onnx_import.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    auto graph =
        sb::graph::importOnnxBytes(std::string_view(reinterpret_cast<const char *>(data), size));
    if (!graph.ok())
        return 0;
    sb::cost::DimBindings bindings;
    bindings.batch = 2;
    for (const auto &symbol : sb::cost::batchSymbols(**graph))
        bindings.dims[symbol] = 3;
    (void)sb::cost::computeCost(**graph, bindings);
    std::string reason;
    (void)sb::cost::batchIsSymbolicThroughout(**graph, &reason);
    return 0;
}
