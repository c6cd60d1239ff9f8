#include "ui/graph/auto_split.h"

#include <QPointer>

namespace sb::ui {

plan::PlannerOptions autoSplitOptions(const PlacementModel &placement, plan::Objective objective)
{
    plan::PlannerOptions options;
    options.objective = objective;
    options.batch = placement.batch();
    options.microbatches = placement.microbatches();
    const plan::Plan current = placement.makePlan();
    options.dims = current.dims;
    for (const std::string &name : current.pinned)
        if (auto it = current.assignment.find(name); it != current.assignment.end())
            options.pins[name] = it->second;
    return options;
}

int startAutoSplit(PlacementModel *placement, TaskRunner *tasks, plan::Objective objective,
                   QObject *context, std::function<void(Result<plan::PlannerResult>)> done)
{
    const auto model = placement->modelData();
    if (!model) {
        done(makeError(ErrorCode::InvalidInput, "open a model before splitting it"));
        return 0;
    }
    if (placement->devices().isEmpty()) {
        done(makeError(ErrorCode::InvalidInput, "there is no device to split the model over"));
        return 0;
    }
    plan::PlannerOptions options = autoSplitOptions(*placement, objective);
    options.modelSha256 = model->sha256;
    const plan::DeviceSet devices = placement->makePlan().devices;
    QPointer<PlacementModel> target(placement);
    return tasks->start<plan::PlannerResult>(
        QObject::tr("Auto split"),
        [graph = model->graph, devices, options](const ProgressFn &progress,
                                                 const CancelToken &cancel) mutable {
            progress(0.1, "Planning");
            options.cancel = &cancel;
            return plan::autoPlan(*graph, devices, options);
        },
        context,
        [target, model, done = std::move(done)](Result<plan::PlannerResult> result) {
            if (!result.ok()) {
                done(std::move(result));
                return;
            }
            if (!target || target->modelData() != model) {
                done(makeError(ErrorCode::Cancelled, "the model changed while planning"));
                return;
            }
            const Status applied = target->applyPlan(
                result->plan,
                QObject::tr("Auto split (%1)").arg(QString::fromStdString(result->plan.objective)));
            if (!applied.ok()) {
                done(applied.error());
                return;
            }
            done(std::move(result));
        });
}

} // namespace sb::ui
