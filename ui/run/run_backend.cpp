#include "ui/run/run_backend.h"

namespace sb::ui {

Result<RunOutcome> runPipeline(const RunRequest &, const ProgressFn &, const CancelToken &,
                               const std::function<void(const RunLive &)> &)
{
    // The pipeline runtime (core/runtime/pipeline.h) is not on main yet.
    return makeError(ErrorCode::Unsupported,
                     "running a plan needs the pipeline runtime, which is not in this build");
}

} // namespace sb::ui
