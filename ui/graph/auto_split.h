// "Auto split": core/plan's planner over the placement's devices (in list
// order) with the chosen objective, run on the TaskRunner. Pinned nodes keep
// their device: they go to the planner as pins, and the planner's plan is
// applied as one undoable command (undo returns to the hand-made placement).
#pragma once

#include "core/plan/planner.h"
#include "ui/common/task_runner.h"
#include "ui/graph/placement_model.h"

#include <functional>

namespace sb::ui {

// The planner options for the placement as it stands: objective, batch,
// micro-batches, the kept dims, and one pin per pinned node (to its device).
plan::PlannerOptions autoSplitOptions(const PlacementModel &placement, plan::Objective objective);

// Starts the planner; `done` runs on the GUI thread in `context` after the
// plan was applied (or with the error: no model, planner failure, cancel, or a
// model that changed meanwhile). Returns the task id (0 when nothing started).
int startAutoSplit(PlacementModel *placement, TaskRunner *tasks, plan::Objective objective,
                   QObject *context, std::function<void(Result<plan::PlannerResult>)> done);

} // namespace sb::ui
