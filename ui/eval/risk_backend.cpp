#include "ui/eval/risk_backend.h"

#include "ui/eval/eval_store.h"

#include "core/eval/csv.h"
#include "core/eval/poisoning.h"
#include "core/eval/predict.h"
#include "core/eval/privacy.h"
#include "core/eval/robustness.h"
#include "core/runtime/session.h"
#include "core/store/store.h"
#include "core/workflows/model_runner.h"
#include "kernels/registry.h"

namespace sb::ui {

namespace {

// The model's feature columns: the request's, else every numerical column
// that is not the label or a score/prediction/probability column.
std::vector<std::string> featureColumns(const RiskRequest &request, const eval::Table &table)
{
    std::vector<std::string> names;
    for (const QString &f : request.features)
        names.push_back(f.trimmed().toStdString());
    if (!names.empty())
        return names;
    const std::string label = request.labelColumn.toStdString();
    for (const eval::Column &c : table.columns)
        if (c.type == eval::ColumnType::Numerical && c.name != label && c.name != "score" &&
            c.name != "pred" && c.name != "prediction" && c.name.rfind("proba_", 0) != 0)
            names.push_back(c.name);
    return names;
}

} // namespace

Result<RiskReports> runRiskChecks(const RiskRequest &request, const ProgressFn &progress,
                                  const CancelToken &cancel)
{
    auto step = [&](double fraction, const std::string &what) {
        if (progress)
            progress(fraction, what);
    };
    if (request.modelPath.isEmpty())
        return makeError(ErrorCode::InvalidInput, "choose the model (an ONNX classifier)");
    if (request.dataPath.isEmpty())
        return makeError(ErrorCode::InvalidInput, "choose the current data (a CSV file)");
    step(0.02, "Opening the model");
    SB_ASSIGN_OR_RETURN(
        runtime::Session session,
        runtime::openSession(request.modelPath.toStdString(), kernels::defaultRegistry(), 0));
    SB_ASSIGN_OR_RETURN(eval::ModelRunner runner,
                        workflows::executorRunner(*session.executor, &cancel));
    SB_ASSIGN_OR_RETURN(eval::Table data,
                        eval::readCsv(request.dataPath.toStdString(), {}, &cancel));

    RiskReports reports;
    eval::RobustnessOptions options;
    options.predict.features = featureColumns(request, data);
    options.predict.cancel = &cancel;
    options.eval.label = request.labelColumn.toStdString();
    options.modelHandlesMissing = eval::graphHandlesMissing(*session.graph, &options.missingReason);
    // One slice per category of a "site"-like column, as the evaluation does.
    for (const char *name : {"site", "region", "segment", "group"})
        if (const eval::Column *column = data.column(name); column && column->categories)
            for (const auto &category : *column->categories)
                options.eval.slices.push_back(category + ": " + name + " == " + category);
    SB_ASSIGN_OR_RETURN(
        eval::RobustnessReport robustness,
        eval::runRobustness(data, runner, options, &cancel, [&](double f, const std::string &what) {
            step(0.05 + 0.6 * f, "Robustness: " + what);
        }));
    reports.robustness = std::move(robustness.json);

    // Poisoning screen: the training data when given, else the evaluated data.
    std::optional<eval::Table> train;
    if (!request.trainPath.isEmpty()) {
        step(0.7, "Reading the training data");
        SB_ASSIGN_OR_RETURN(train, eval::readCsv(request.trainPath.toStdString(), {}, &cancel));
    }
    step(0.75, "Poisoning screen");
    eval::PoisoningOptions screen;
    screen.label = options.eval.label;
    screen.features = options.predict.features;
    SB_ASSIGN_OR_RETURN(eval::PoisoningReport poisoning,
                        eval::screenPoisoning(train ? *train : data, screen, &cancel));
    reports.poisoning = std::move(poisoning.json);

    if (train) {
        step(0.85, "Membership inference");
        eval::PredictOptions predict = options.predict;
        SB_ASSIGN_OR_RETURN(eval::Predictions onTrain, eval::predict(*train, runner, predict));
        SB_ASSIGN_OR_RETURN(eval::Predictions onData, eval::predict(data, runner, predict));
        SB_ASSIGN_OR_RETURN(auto members,
                            eval::membershipFromPredictions(*train, onTrain, screen.label));
        SB_ASSIGN_OR_RETURN(auto nonMembers,
                            eval::membershipFromPredictions(data, onData, screen.label));
        eval::PrivacyOptions privacy;
        privacy.bootstrap = 500;
        SB_ASSIGN_OR_RETURN(reports.privacy,
                            eval::membershipInference(members, nonMembers, privacy, &cancel));
    }

    if (!request.database.empty()) {
        step(0.95, "Storing the results");
        SB_ASSIGN_OR_RETURN(auto store, store::Store::open(request.database));
        SB_ASSIGN_OR_RETURN(store::ModelVersionRecord version,
                            findOrRegisterModel(*store, request.modelPath.toStdString()));
        const std::string source = request.dataPath.toStdString();
        auto save = [&](const char *kind, const nlohmann::json &report,
                        const std::string &from) -> Status {
            store::EvaluationMeta meta;
            meta.kind = kind;
            meta.source = "Evaluation page: " + from;
            SB_TRY(store->saveEvaluation(version.id, report, meta));
            return {};
        };
        SB_TRY(save("robustness", reports.robustness, source));
        SB_TRY(
            save("poisoning", reports.poisoning, train ? request.trainPath.toStdString() : source));
        if (train)
            SB_TRY(save("privacy", reports.privacy,
                        request.trainPath.toStdString() + " vs " + source));
        reports.storedFor = QString::fromStdString(version.label());
    }
    step(1.0, "Done");
    return reports;
}

} // namespace sb::ui
