// Demo step 40: evaluate the demo classifier on resources/demo/current.csv
// (its `score` column: P(malignant) computed by the model), with per-site
// slices, calibration, bootstrap intervals and the automatic weak-slice
// search; the report is stored in the demo database.
#include "app/cli/demo.h"
#include "app/cli/eval_common.h"

#include "core/eval/csv.h"
#include "core/eval/evaluation.h"
#include "core/store/store.h"

#include <ostream>

namespace sb::cli {
namespace {

Status runEvalDemo(DemoContext &ctx)
{
    std::ostream &out = *ctx.out;
    const auto data = ctx.resources / "demo" / "current.csv";
    SB_ASSIGN_OR_RETURN(eval::Table table, eval::readCsv(data));

    eval::EvalSpec spec;
    spec.label = "label";
    spec.score = "score";
    spec.positive = "1";
    spec.bootstrap = 1000;
    spec.autoSlices = true;
    spec.gates = {"accuracy >= 0.9", "lakeside_clinic.recall_macro >= 0.9"};
    if (const eval::Column *site = table.column("site"))
        for (const auto &name : *site->categories)
            spec.slices.push_back(name + ": site == " + name);
    spec.slices.push_back("age_65_plus: patient_age >= 65");
    SB_ASSIGN_OR_RETURN(eval::EvalReport report, eval::evaluate(table, spec));

    out << "evaluating the demo classifier's scores in " << data.filename().string()
        << " (eval --label label --score score, slices per site, bootstrap 1000, auto slices)\n";
    printEvalSummary(out, report.json);

    auto store = store::Store::open(ctx.database);
    if (!store)
        return store.error();
    store::EvaluationMeta meta;
    meta.kind = "eval";
    meta.source = "demo: " + data.string();
    SB_ASSIGN_OR_RETURN(store::Id id, (*store)->saveEvaluation(std::nullopt, report.json, meta));
    out << "stored as evaluation " << id << " in " << ctx.database.string() << "\n";
    return Status::success();
}

const DemoStepRegistrar registrar{40, "Evaluation", runEvalDemo};

} // namespace
} // namespace sb::cli
