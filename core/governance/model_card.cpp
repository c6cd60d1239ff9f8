#include "core/common/json_text.h"
#include "core/governance/report.h"

#include <cmath>
#include <set>
#include <sstream>

namespace sb::governance {

using store::Json;

namespace {

const Json &field(const Json &object, const char *key)
{
    static const Json null;
    if (object.is_object() && object.contains(key))
        return object[key];
    return null;
}

std::optional<std::pair<double, double>> interval(const Json &ci)
{
    if (ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number())
        return std::make_pair(ci[0].get<double>(), ci[1].get<double>());
    if (ci.is_object() && ci.contains("lower") && ci.contains("upper") && ci["lower"].is_number() &&
        ci["upper"].is_number())
        return std::make_pair(ci["lower"].get<double>(), ci["upper"].get<double>());
    return std::nullopt;
}

// One MCT performance_metric; the CI (when finite) as confidence_interval.
Json metricEntry(const std::string &type, double value, const std::string &slice, const Json &ci)
{
    Json metric = {{"type", type}, {"value", value}};
    if (!slice.empty())
        metric["slice"] = slice;
    if (auto range = interval(ci);
        range && std::isfinite(range->first) && std::isfinite(range->second))
        metric["confidence_interval"] = {{"lower_bound", range->first},
                                         {"upper_bound", range->second}};
    return metric;
}

std::string textOf(const Json &object, const char *key)
{
    const Json &value = field(object, key);
    return value.is_string() ? value.get<std::string>() : std::string();
}

std::string dateOnly(const std::string &iso)
{
    return iso.size() >= 10 ? iso.substr(0, 10) : iso;
}

} // namespace

Json buildModelCard(const ReportData &data)
{
    const auto &version = data.version;
    Json card = Json::object();
    card["schema_version"] = "0.0.2";

    std::string overview = "ONNX model " + version.label() + " registered in Shardbench";
    if (data.evaluation)
        overview +=
            ", evaluated on " + sb::jsonText(field(data.evaluation->report, "rows")) + " rows";
    Json details = {{"name", version.modelName},
                    {"overview", overview + "."},
                    {"documentation",
                     "File " + version.filePath + " (sha256 " + version.sha256 + ", " +
                         std::to_string(version.sizeBytes) + " bytes), produced by " +
                         (version.producer.empty() ? "an unknown producer" : version.producer) +
                         ". " + version.notes},
                    {"owners", Json::array({{{"name", version.createdBy}, {"contact", ""}}})},
                    {"version",
                     {{"name", std::to_string(version.version)},
                      {"date", dateOnly(version.createdAt)},
                      {"diff", version.notes}}},
                    {"references", Json::array()},
                    {"citations", Json::array()}};
    card["model_details"] = details;

    std::string architecture = "ONNX graph";
    if (!version.opsets.empty())
        architecture += ", opsets " + sb::jsonText(version.opsets);
    Json parameters = {{"model_architecture", architecture}, {"data", Json::array()}};
    if (data.evaluation) {
        Json dataset = {
            {"name", data.evaluation->source.empty() ? "evaluation data" : data.evaluation->source},
            {"description",
             "Evaluation data: " + sb::jsonText(field(data.evaluation->report, "rows")) +
                 " rows, task " + sb::jsonText(field(data.evaluation->report, "task")) + "."}};
        if (data.quality) {
            std::set<std::string> sensitive;
            for (const Json &column : field(data.quality->report, "columns")) {
                const Json &pii = field(column, "pii");
                if (pii.is_array())
                    for (const Json &finding : pii) {
                        std::string kind = finding.is_object() && finding.contains("kind") &&
                                                   finding["kind"].is_string()
                                               ? finding["kind"].get<std::string>()
                                               : sb::jsonText(finding);
                        sensitive.insert(field(column, "name").is_string()
                                             ? field(column, "name").get<std::string>() + ": " +
                                                   kind
                                             : kind);
                    }
            }
            dataset["sensitive"] = {{"sensitive_data", Json(std::vector<std::string>(
                                                           sensitive.begin(), sensitive.end()))}};
        }
        parameters["data"].push_back(dataset);
    }
    if (data.drift)
        parameters["data"].push_back(
            {{"name", data.drift->source.empty() ? "drift monitoring data" : data.drift->source},
             {"description",
              "Drift snapshot: share of drifted columns " +
                  std::to_string(data.drift->shareDrifted) +
                  (data.drift->datasetDrift ? " (dataset drift)" : " (no dataset drift)")}});
    card["model_parameters"] = parameters;

    Json metrics = Json::array();
    if (data.evaluation) {
        const Json &report = data.evaluation->report;
        const Json &overall = field(report, "overall");
        const Json &overallCi = field(report, "ci");
        if (overall.is_object())
            for (auto it = overall.begin(); it != overall.end(); ++it)
                if (it.value().is_number() && std::isfinite(it.value().get<double>()))
                    metrics.push_back(metricEntry(it.key(), it.value().get<double>(), "",
                                                  field(overallCi, it.key().c_str())));
        for (const Json &slice : field(report, "slices")) {
            const Json &sliceMetrics = field(slice, "metrics");
            std::string name = field(slice, "name").is_string()
                                   ? field(slice, "name").get<std::string>()
                                   : "slice";
            if (!sliceMetrics.is_object())
                continue;
            for (auto it = sliceMetrics.begin(); it != sliceMetrics.end(); ++it)
                if (it.value().is_number() && std::isfinite(it.value().get<double>()))
                    metrics.push_back(metricEntry(it.key(), it.value().get<double>(), name,
                                                  field(field(slice, "ci"), it.key().c_str())));
        }
    }
    // Robustness and adversarial-risk figures, as metric entries with the
    // perturbation or attack as their slice.
    if (data.robustness)
        for (const Json &point : field(data.robustness->report, "curves")) {
            const Json &strength = field(point, "strength");
            const Json &accuracy = field(field(point, "metrics"), "accuracy");
            if (strength.is_number() && strength.get<double>() > 0 && accuracy.is_number())
                metrics.push_back(
                    metricEntry("accuracy", accuracy.get<double>(),
                                "robustness: " + field(point, "perturbation").get<std::string>() +
                                    " " + sb::jsonText(strength),
                                Json()));
        }
    if (data.privacy)
        for (const Json &attack : field(data.privacy->report, "attacks"))
            for (const char *key : {"auc", "advantage"})
                if (field(attack, key).is_number())
                    metrics.push_back(metricEntry(
                        std::string("membership_inference_") + key,
                        field(attack, key).get<double>(), field(attack, "name").get<std::string>(),
                        field(attack, (std::string(key) + "_ci").c_str())));
    if (data.poisoning) {
        const Json &share = field(field(data.poisoning->report, "summary"), "label_issue_share");
        if (share.is_number())
            metrics.push_back(
                metricEntry("label_issue_share", share.get<double>(), "training data", Json()));
    }
    card["quantitative_analysis"] = {{"performance_metrics", metrics}};

    Json considerations = {{"users", Json::array()},
                           {"use_cases", Json::array()},
                           {"limitations", Json::array()},
                           {"tradeoffs", Json::array()},
                           {"ethical_considerations", Json::array()}};
    if (data.evaluation) {
        for (const Json &slice : field(data.evaluation->report, "auto_slices")) {
            std::string name = field(slice, "name").is_string()
                                   ? field(slice, "name").get<std::string>()
                                   : sb::jsonText(slice);
            considerations["limitations"].push_back(
                {{"description", "Weak slice found by automatic search: " + name}});
        }
        auto ece = field(field(data.evaluation->report, "calibration"), "ece");
        if (ece.is_number())
            considerations["tradeoffs"].push_back(
                {{"description", "Expected calibration error " + sb::jsonText(ece) +
                                     "; probabilities should be read with that error in mind."}});
    }
    if (data.privacy) {
        const Json &auc = field(data.privacy->report, "mia_auc");
        if (auc.is_number())
            considerations["ethical_considerations"].push_back(
                {{"name", "Membership inference: attack AUC " + sb::jsonText(auc) +
                              " (0.5 = chance) on training vs held-out rows"},
                 {"mitigation_strategy",
                  textOf(field(data.privacy->report, "model_inversion"), "reading")}});
    }
    if (data.poisoning) {
        const Json &summary = field(data.poisoning->report, "summary");
        if (field(summary, "suspicious_rows").is_number())
            considerations["limitations"].push_back(
                {{"description", "Poisoning screen of the training data: " +
                                     sb::jsonText(field(summary, "suspicious_rows")) +
                                     " suspicious rows, label issue share " +
                                     sb::jsonText(field(summary, "label_issue_share")) + "."}});
    }
    if (data.robustness) {
        const Json &sensitivity = field(data.robustness->report, "sensitivity");
        if (sensitivity.is_array() && !sensitivity.empty())
            considerations["limitations"].push_back(
                {{"description", "Most sensitive input feature (one-at-a-time shift): " +
                                     textOf(sensitivity[0], "feature") + "."}});
    }
    if (data.drift && data.drift->datasetDrift)
        considerations["limitations"].push_back(
            {{"description",
              "Dataset drift detected in the latest snapshot (share of drifted columns " +
                  std::to_string(data.drift->shareDrifted) + ")."}});
    for (const Json &checklist : field(data.checklists, "checklists"))
        for (const Json &item : field(checklist, "items")) {
            std::string status =
                field(item, "status").is_string() ? field(item, "status").get<std::string>() : "";
            std::string strategy = "status: " + status;
            const Json &signoffs = field(item, "signoffs");
            if (signoffs.is_array() && !signoffs.empty()) {
                const Json &last = signoffs.back();
                strategy += " (" + field(last, "decision").get<std::string>() + " by " +
                            field(last, "reviewer").get<std::string>() +
                            (field(last, "comment").get<std::string>().empty()
                                 ? ""
                                 : ": " + field(last, "comment").get<std::string>()) +
                            ")";
            } else if (field(item, "rule").is_string() &&
                       !field(item, "rule").get<std::string>().empty()) {
                strategy += " (evidence rule " + field(item, "rule").get<std::string>() + ")";
            }
            considerations["ethical_considerations"].push_back(
                {{"name", field(checklist, "title").get<std::string>() + ": " +
                              field(item, "text").get<std::string>()},
                 {"mitigation_strategy", strategy}});
        }
    card["considerations"] = considerations;
    return card;
}

std::string renderModelCardMarkdown(const Json &card)
{
    std::ostringstream out;
    const Json &details = field(card, "model_details");
    auto str = [](const Json &value) {
        return value.is_string() ? value.get<std::string>()
               : value.is_null() ? std::string()
                                 : sb::jsonText(value);
    };
    out << "# Model card: " << str(field(details, "name")) << " (version "
        << str(field(field(details, "version"), "name")) << ")\n\n"
        << str(field(details, "overview")) << "\n\n";
    out << "## Model details\n\n" << str(field(details, "documentation")) << "\n\n";
    out << "- Version date: " << str(field(field(details, "version"), "date")) << "\n";
    for (const Json &owner : field(details, "owners"))
        out << "- Owner: " << str(field(owner, "name")) << "\n";
    const Json &parameters = field(card, "model_parameters");
    out << "\n## Model parameters\n\n- Architecture: "
        << str(field(parameters, "model_architecture")) << "\n";
    for (const Json &dataset : field(parameters, "data")) {
        out << "- Data: **" << str(field(dataset, "name"))
            << "**: " << str(field(dataset, "description")) << "\n";
        const Json &sensitive = field(field(dataset, "sensitive"), "sensitive_data");
        if (sensitive.is_array() && !sensitive.empty()) {
            out << "  - Sensitive data:";
            for (const Json &kind : sensitive)
                out << " " << str(kind) << ";";
            out << "\n";
        }
    }
    out << "\n## Quantitative analysis\n\n";
    const Json &metrics = field(field(card, "quantitative_analysis"), "performance_metrics");
    if (!metrics.is_array() || metrics.empty()) {
        out << "No evaluation stored.\n";
    } else {
        out << "| metric | slice | value | 95% confidence interval |\n|---|---|---|---|\n";
        for (const Json &metric : metrics) {
            const Json &ci = field(metric, "confidence_interval");
            char value[32];
            std::snprintf(value, sizeof value, "%.4g", field(metric, "value").get<double>());
            out << "| " << str(field(metric, "type")) << " | "
                << (field(metric, "slice").is_string() ? str(field(metric, "slice")) : "overall")
                << " | " << value << " | ";
            if (ci.is_object()) {
                char range[64];
                std::snprintf(range, sizeof range, "[%.4g, %.4g]",
                              field(ci, "lower_bound").get<double>(),
                              field(ci, "upper_bound").get<double>());
                out << range;
            }
            out << " |\n";
        }
    }
    const Json &considerations = field(card, "considerations");
    out << "\n## Considerations\n";
    struct Section
    {
        const char *key;
        const char *title;
    };
    for (const Section &section :
         {Section{"limitations", "Limitations"}, Section{"tradeoffs", "Tradeoffs"}}) {
        const Json &entries = field(considerations, section.key);
        if (!entries.is_array() || entries.empty())
            continue;
        out << "\n### " << section.title << "\n\n";
        for (const Json &entry : entries)
            out << "- " << str(field(entry, "description")) << "\n";
    }
    const Json &risks = field(considerations, "ethical_considerations");
    if (risks.is_array() && !risks.empty()) {
        out << "\n### Governance checklist (ethical considerations)\n\n";
        for (const Json &risk : risks)
            out << "- " << str(field(risk, "name")) << " - "
                << str(field(risk, "mitigation_strategy")) << "\n";
    }
    return out.str();
}

} // namespace sb::governance
