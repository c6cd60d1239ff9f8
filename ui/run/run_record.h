// Conversion between a finished run as the Runs page shows it (RunOutcome)
// and the store's RunRecord, so past runs load back into the history and
// compare side by side with this session's.
//
// The record is laid out by core (workflows::runRecord, the writer
// `run/bench --plan --db` uses too); this file only converts the page's
// types. A metric missing from an older record reads as NaN, never as 0.
#pragma once

#include "core/store/store.h"
#include "ui/run/run_types.h"

namespace sb::ui {

store::RunRecord recordFromOutcome(const RunOutcome &outcome, const QString &modelPath);
RunOutcome outcomeFromRecord(const store::RunRecord &record);

// "Run #12 · 14:03:07 · 4 mb" style label for a stored run.
QString storedRunLabel(const store::RunRecord &record);

} // namespace sb::ui
