// `shardbench-cli registry add|list|show`: the model registry in the store.
#include "app/cli/command.h"
#include "app/cli/store_cli.h"
#include "core/common/json_text.h"
#include "core/common/sha256.h"
#include "core/graph/onnx_import.h"
#include "core/workflows/register_model.h"

#include <filesystem>
#include <iomanip>
#include <iostream>

namespace sb::cli {
namespace {

namespace fs = std::filesystem;
using store::Json;

Json versionJson(const store::ModelVersionRecord &version)
{
    return {{"name", version.modelName},
            {"version", version.version},
            {"id", version.id},
            {"file", version.filePath},
            {"sha256", version.sha256},
            {"size_bytes", version.sizeBytes},
            {"producer", version.producer},
            {"opsets", version.opsets},
            {"notes", version.notes},
            {"created_at", version.createdAt},
            {"created_by", version.createdBy}};
}

int runAdd(Args &args)
{
    ArgSpec spec("registry add MODEL.onnx --name NAME [--notes TEXT] [--db PATH]",
                 "Register MODEL.onnx as the next version of NAME: hashes the file (SHA-256),\n"
                 "records its size, producer and opsets (read with the ONNX importer) and\n"
                 "writes an audit entry.");
    spec.positional("MODEL.onnx", "the model file");
    spec.option("name", "NAME", "registered model name (no ':')");
    spec.option("notes", "TEXT", "free-text notes for this version");
    spec.flag("json", "print the new version as one JSON object");
    addStoreOptions(spec);
    spec.required("name");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    const fs::path modelPath = parsed.positional.front();
    std::error_code ec;
    if (!fs::is_regular_file(modelPath, ec))
        return reportError(args.command,
                           makeError(ErrorCode::NotFound, modelPath.string() + ": no such file"));
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    // The workflow imports first: a file that is not a valid ONNX model is
    // not registered.
    auto added =
        workflows::registerModelFile(*store, modelPath, parsed.get("name"), parsed.get("notes"));
    if (!added.ok())
        return reportError(args.command, added.error());
    if (parsed.flag("json")) {
        printJson(versionJson(*added));
    } else {
        std::cout << "registered " << added->label() << "\n"
                  << "  file     " << added->filePath << "\n"
                  << "  sha256   " << added->sha256 << "\n"
                  << "  size     " << added->sizeBytes << " bytes\n"
                  << "  producer " << added->producer << "\n"
                  << "  opsets   " << jsonText(added->opsets) << "\n"
                  << "  database " << store->path().string() << "\n";
    }
    return kExitOk;
}

int runList(Args &args)
{
    ArgSpec spec("registry list [--json] [--db PATH]",
                 "List registered models with their version count, latest version and the\n"
                 "versions active per environment.");
    spec.flag("json", "print one JSON object");
    addStoreOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    auto models = store->models().list();
    if (!models.ok())
        return reportError(args.command, models.error());
    Json out = {{"database", store->path().string()}, {"models", Json::array()}};
    for (const auto &model : *models) {
        Json entry = {{"name", model.name},
                      {"versions", model.versionCount},
                      {"latest_version", model.latestVersion},
                      {"created_at", model.createdAt},
                      {"active", Json::object()}};
        auto history = store->deployments().history(model.name);
        if (!history.ok())
            return reportError(args.command, history.error());
        for (const auto &deployment : *history)
            entry["active"][deployment.env] = deployment.version; // last entry per env wins
        out["models"].push_back(entry);
    }
    if (parsed.flag("json")) {
        printJson(out);
        return kExitOk;
    }
    if (models->empty()) {
        std::cout << "no models registered in " << store->path().string() << "\n";
        return kExitOk;
    }
    std::cout << std::left << std::setw(24) << "MODEL" << std::setw(10) << "VERSIONS"
              << std::setw(8) << "LATEST"
              << "ACTIVE\n";
    for (const auto &entry : out["models"]) {
        std::string active;
        for (auto it = entry["active"].begin(); it != entry["active"].end(); ++it)
            active += (active.empty() ? "" : ", ") + it.key() + "=" +
                      std::to_string(it.value().get<int>());
        std::cout << std::left << std::setw(24) << entry["name"].get<std::string>() << std::setw(10)
                  << entry["versions"].get<int>() << std::setw(8)
                  << entry["latest_version"].get<int>() << (active.empty() ? "-" : active) << "\n";
    }
    return kExitOk;
}

int runShow(Args &args)
{
    ArgSpec spec("registry show NAME[:VERSION] [--json] [--db PATH]",
                 "Show a model's versions (NAME) or one version in detail (NAME:VERSION):\n"
                 "file, hash, producer, opsets, stored evaluations, checklists, deployments.");
    spec.positional("NAME[:VERSION]", "model, or model version");
    spec.flag("json", "print one JSON object");
    addStoreOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    const std::string reference = parsed.positional.front();
    Json out;
    if (reference.find(':') == std::string::npos) {
        auto versions = store->models().versions(reference);
        if (!versions.ok())
            return reportError(args.command, versions.error());
        if (versions->empty())
            return reportError(
                args.command,
                makeError(ErrorCode::NotFound, "no model '" + reference + "' in the registry"));
        out = {{"name", reference}, {"versions", Json::array()}};
        for (const auto &version : *versions)
            out["versions"].push_back(versionJson(version));
        auto history = store->deployments().history(reference);
        if (!history.ok())
            return reportError(args.command, history.error());
        out["active"] = Json::object();
        for (const auto &deployment : *history)
            out["active"][deployment.env] = deployment.version;
        if (parsed.flag("json")) {
            printJson(out);
            return kExitOk;
        }
        std::cout << reference << ": " << versions->size() << " version(s)\n";
        for (const auto &version : *versions)
            std::cout << "  " << version.version << "  " << version.createdAt << "  "
                      << version.sha256.substr(0, 12) << "  " << version.sizeBytes << " B  "
                      << version.createdBy << (version.notes.empty() ? "" : "  " + version.notes)
                      << "\n";
        for (auto it = out["active"].begin(); it != out["active"].end(); ++it)
            std::cout << "  active in " << it.key() << ": version " << it.value().get<int>()
                      << "\n";
        return kExitOk;
    }
    auto version = store->resolveVersion(reference);
    if (!version.ok())
        return reportError(args.command, version.error());
    out = versionJson(*version);
    auto evaluations = store->evaluations().evaluations(version->id);
    auto drift = store->evaluations().driftSnapshots(version->id);
    auto runs = store->runs().runs(version->id);
    auto checklists = store->checklists().forVersion(version->id);
    if (!evaluations.ok() || !drift.ok() || !runs.ok() || !checklists.ok())
        return reportError(args.command, makeError(ErrorCode::Io, "cannot read version details"));
    out["evaluations"] = Json::array();
    for (const auto &evaluation : *evaluations)
        out["evaluations"].push_back({{"id", evaluation.id},
                                      {"kind", evaluation.kind},
                                      {"created_at", evaluation.createdAt},
                                      {"source", evaluation.source}});
    out["drift_snapshots"] = drift->size();
    out["runs"] = runs->size();
    out["checklists"] = Json::array();
    for (const auto &checklist : *checklists) {
        int satisfied = 0;
        for (const auto &item : checklist.items)
            satisfied += store::itemStatusSatisfied(item.status) ? 1 : 0;
        out["checklists"].push_back({{"template", checklist.templateId},
                                     {"items", checklist.items.size()},
                                     {"satisfied", satisfied}});
    }
    if (parsed.flag("json")) {
        printJson(out);
        return kExitOk;
    }
    std::cout << version->label() << "\n"
              << "  file        " << version->filePath << "\n"
              << "  sha256      " << version->sha256 << "\n"
              << "  size        " << version->sizeBytes << " bytes\n"
              << "  producer    " << version->producer << "\n"
              << "  opsets      " << jsonText(version->opsets) << "\n"
              << "  created     " << version->createdAt << " by " << version->createdBy << "\n";
    if (!version->notes.empty())
        std::cout << "  notes       " << version->notes << "\n";
    std::cout << "  evaluations " << evaluations->size() << ", drift snapshots " << drift->size()
              << ", runs " << runs->size() << "\n";
    for (const auto &checklist : out["checklists"])
        std::cout << "  checklist   " << checklist["template"].get<std::string>() << ": "
                  << checklist["satisfied"].get<int>() << "/"
                  << checklist["items"].get<std::size_t>() << " satisfied\n";
    return kExitOk;
}

int runRegistry(Args &args)
{
    return dispatchSubCommand(args,
                              "The model registry: versions of ONNX models, hashed and audited.",
                              {{"add", "register a new version of a model file", runAdd},
                               {"list", "list registered models", runList},
                               {"show", "show a model's versions or one version", runShow}});
}

const CommandRegistrar registrar{"registry", "Model registry: add, list, show versions",
                                 runRegistry};

} // namespace
} // namespace sb::cli
