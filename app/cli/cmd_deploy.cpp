// `shardbench-cli deploy promote|rollback|history`: which version is active
// per environment, gated by the version's governance checklists.
#include "app/cli/command.h"
#include "app/cli/store_cli.h"
#include "core/governance/checklist.h"

#include <iomanip>
#include <iostream>

namespace sb::cli {
namespace {

using store::Json;

Json deploymentJson(const store::DeploymentRecord &record, const std::string &model)
{
    return {{"id", record.id},          {"model", model},           {"version", record.version},
            {"env", record.env},        {"action", record.action},  {"comment", record.comment},
            {"time", record.createdAt}, {"actor", record.createdBy}};
}

int runPromote(Args &args)
{
    ArgSpec spec("deploy promote NAME:VERSION --env ENV [--comment TEXT] [--db PATH]",
                 "Make NAME:VERSION the active version in ENV. Refused (exit 2) while a\n"
                 "required checklist item of that version is open or failing; the message\n"
                 "lists the blocking items as TEMPLATE/ITEM (status). Evidence items are\n"
                 "re-evaluated against the latest stored results first.");
    spec.positional("NAME:VERSION", "the model version to promote");
    spec.option("env", "ENV", "environment, e.g. staging or production");
    spec.option("comment", "TEXT", "why (stored in the history and the audit log)");
    spec.flag("json", "print the deployment entry as one JSON object");
    addStoreOptions(spec);
    spec.required("env");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    auto version = store->resolveVersion(parsed.positional.front());
    if (!version.ok())
        return reportError(args.command, version.error());
    governance::ChecklistService service(*store);
    auto checklists = store->checklists().forVersion(version->id);
    if (checklists.ok() && checklists->empty())
        std::cerr << "shardbench-cli " << args.command << ": warning: " << version->label()
                  << " has no governance checklist (see `checklist start`)\n";
    auto deployed = service.promote(*version, parsed.get("env"), parsed.get("comment"));
    if (!deployed.ok())
        return reportError(args.command, deployed.error());
    if (parsed.flag("json"))
        printJson(deploymentJson(*deployed, version->modelName));
    else
        std::cout << "promoted " << version->label() << " to " << deployed->env << "\n";
    return kExitOk;
}

int runRollback(Args &args)
{
    ArgSpec spec("deploy rollback NAME --env ENV [--comment TEXT] [--db PATH]",
                 "Return ENV to the version that was active before the current one.\n"
                 "Repeated rollbacks walk further back through the promotions.");
    spec.positional("NAME", "the model");
    spec.option("env", "ENV", "environment");
    spec.option("comment", "TEXT", "why (stored in the history and the audit log)");
    spec.flag("json", "print the deployment entry as one JSON object");
    addStoreOptions(spec);
    spec.required("env");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    const std::string model = parsed.positional.front();
    auto before = store->deployments().active(model, parsed.get("env"));
    auto rolled = store->deployments().rollback(model, parsed.get("env"), parsed.get("comment"));
    if (!rolled.ok())
        return reportError(args.command, rolled.error());
    if (parsed.flag("json")) {
        printJson(deploymentJson(*rolled, model));
    } else {
        std::cout << "rolled back " << model << " in " << rolled->env;
        if (before.ok() && *before)
            std::cout << " from version " << (*before)->version;
        std::cout << " to version " << rolled->version << "\n";
    }
    return kExitOk;
}

int runHistory(Args &args)
{
    ArgSpec spec("deploy history NAME [--env ENV] [--json] [--db PATH]",
                 "Every promotion and rollback of NAME, oldest first, with the active\n"
                 "version per environment.");
    spec.positional("NAME", "the model");
    spec.option("env", "ENV", "only this environment");
    spec.flag("json", "print one JSON object");
    addStoreOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    const std::string model = parsed.positional.front();
    auto exists = store->models().version(model, 0);
    if (!exists.ok())
        return reportError(args.command, exists.error());
    auto history = store->deployments().history(model, parsed.get("env"));
    if (!history.ok())
        return reportError(args.command, history.error());
    Json out = {{"model", model}, {"history", Json::array()}, {"active", Json::object()}};
    for (const auto &entry : *history) {
        out["history"].push_back(deploymentJson(entry, model));
        out["active"][entry.env] = entry.version;
    }
    if (parsed.flag("json")) {
        printJson(out);
        return kExitOk;
    }
    if (history->empty()) {
        std::cout << model << " has no deployments"
                  << (parsed.has("env") ? " in " + parsed.get("env") : std::string()) << "\n";
        return kExitOk;
    }
    std::cout << std::left << std::setw(26) << "TIME" << std::setw(14) << "ENV" << std::setw(10)
              << "ACTION" << std::setw(9) << "VERSION" << std::setw(14) << "ACTOR"
              << "COMMENT\n";
    for (const auto &entry : *history)
        std::cout << std::left << std::setw(26) << entry.createdAt << std::setw(14) << entry.env
                  << std::setw(10) << entry.action << std::setw(9) << entry.version << std::setw(14)
                  << entry.createdBy << entry.comment << "\n";
    for (auto it = out["active"].begin(); it != out["active"].end(); ++it)
        std::cout << "active in " << it.key() << ": " << model << ":" << it.value().get<int>()
                  << "\n";
    return kExitOk;
}

int runDeploy(Args &args)
{
    return dispatchSubCommand(
        args, "Deployments: the active model version per environment, with full history.",
        {{"promote", "make a version active in an environment (checklist-gated)", runPromote},
         {"rollback", "return an environment to its previous version", runRollback},
         {"history", "list promotions and rollbacks", runHistory}});
}

const CommandRegistrar registrar{"deploy", "Promote, roll back and list model deployments",
                                 runDeploy};

} // namespace
} // namespace sb::cli
