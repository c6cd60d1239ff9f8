// `shardbench-cli checklist start|show|sign|templates`: governance checklists
// per model version.
#include "app/cli/command.h"
#include "app/cli/store_cli.h"
#include "core/common/json_text.h"
#include "core/governance/checklist.h"

#include <iomanip>
#include <iostream>

namespace sb::cli {
namespace {

using store::Json;

int runTemplates(Args &args)
{
    ArgSpec spec("checklist templates [--json]",
                 "List the checklist templates: bundled ones (resources/checklists/) and the\n"
                 "team's own (<user data dir>/checklists/*.json; same id overrides).");
    spec.flag("json", "print one JSON object");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    std::vector<std::string> problems;
    auto templates = governance::loadTemplates(&problems);
    for (const auto &problem : problems)
        std::cerr << "shardbench-cli " << args.command << ": skipped " << problem << "\n";
    Json out = {{"templates", Json::array()}, {"directories", Json::array()}};
    for (const auto &dir : governance::templateDirectories())
        out["directories"].push_back(dir.string());
    for (const auto &t : templates) {
        int required = 0, evidence = 0;
        for (const auto &item : t.items) {
            required += item.required ? 1 : 0;
            evidence += item.kind == "evidence" ? 1 : 0;
        }
        out["templates"].push_back({{"id", t.id},
                                    {"title", t.title},
                                    {"description", t.description},
                                    {"items", t.items.size()},
                                    {"required", required},
                                    {"evidence", evidence},
                                    {"source", t.source}});
    }
    if (parsed.flag("json")) {
        printJson(out);
        return kExitOk;
    }
    for (const auto &t : out["templates"])
        std::cout << std::left << std::setw(26) << t["id"].get<std::string>() << std::setw(34)
                  << t["title"].get<std::string>() << t["items"].get<std::size_t>() << " items ("
                  << t["required"].get<int>() << " required, " << t["evidence"].get<int>()
                  << " evidence)\n";
    return kExitOk;
}

int runStart(Args &args)
{
    ArgSpec spec("checklist start NAME:VERSION (--template ID | --template-file FILE) [--db PATH]",
                 "Instantiate a checklist template for a model version. Evidence items are\n"
                 "evaluated at once against the latest stored evaluation, quality and drift\n"
                 "results; manual items wait for a sign-off.");
    spec.positional("NAME:VERSION", "the model version");
    spec.option("template", "ID", "template id (see `checklist templates`)");
    spec.option("template-file", "FILE", "a template JSON file of your own");
    spec.flag("json", "print the checklist as one JSON object");
    addStoreOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    if (parsed.has("template") == parsed.has("template-file"))
        return reportError(args.command,
                           makeError(ErrorCode::InvalidInput,
                                     "give exactly one of --template ID or --template-file FILE"));
    auto checklistTemplate = parsed.has("template")
                                 ? governance::findTemplate(parsed.get("template"))
                                 : governance::loadTemplateFile(parsed.get("template-file"));
    if (!checklistTemplate.ok())
        return reportError(args.command, checklistTemplate.error());
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    auto version = store->resolveVersion(parsed.positional.front());
    if (!version.ok())
        return reportError(args.command, version.error());
    governance::ChecklistService service(*store);
    auto started = service.start(*version, *checklistTemplate);
    if (!started.ok())
        return reportError(args.command, started.error());
    if (parsed.flag("json")) {
        auto described = service.describe(*version);
        if (!described.ok())
            return reportError(args.command, described.error());
        printJson(*described);
        return kExitOk;
    }
    std::cout << "started checklist '" << started->templateId << "' (" << started->title << ") for "
              << version->label() << ": " << started->items.size() << " items\n";
    for (const auto &item : started->items)
        std::cout << "  [" << std::left << std::setw(10) << store::itemStatusName(item.status)
                  << "] " << item.itemId << (item.required ? "" : " (optional)")
                  << (item.kind == "evidence" ? "  rule: " + item.rule : std::string()) << "\n";
    return kExitOk;
}

int runShow(Args &args)
{
    ArgSpec spec("checklist show NAME:VERSION [--json] [--db PATH]",
                 "Show the checklists of a model version: each item's status (open, passed,\n"
                 "failing, approved, rejected, needs_work), evidence values and sign-offs,\n"
                 "and which required items block promotion.");
    spec.positional("NAME:VERSION", "the model version");
    spec.flag("json", "print one JSON object");
    addStoreOptions(spec);
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
    auto described = service.describe(*version);
    if (!described.ok())
        return reportError(args.command, described.error());
    if (parsed.flag("json")) {
        printJson(*described);
        return kExitOk;
    }
    const Json &out = *described;
    if (out["checklists"].empty()) {
        std::cout << "no checklist started for " << version->label() << "\n";
        return kExitOk;
    }
    for (const auto &checklist : out["checklists"]) {
        std::cout << checklist["template"].get<std::string>() << " - "
                  << checklist["title"].get<std::string>() << " ("
                  << checklist["items_satisfied"].get<std::size_t>() << "/"
                  << checklist["items_total"].get<std::size_t>() << " satisfied)\n";
        for (const auto &item : checklist["items"]) {
            std::cout << "  [" << std::left << std::setw(10) << item["status"].get<std::string>()
                      << "] " << item["id"].get<std::string>()
                      << (item["required"].get<bool>() ? "" : " (optional)") << ": "
                      << item["text"].get<std::string>() << "\n";
            if (item["kind"] == "evidence") {
                std::cout << "               rule " << item["rule"].get<std::string>();
                if (item["evidence"].contains("values"))
                    std::cout << "  values " << jsonText(item["evidence"]["values"]);
                if (item["evidence"].contains("missing"))
                    std::cout << "  missing " << jsonText(item["evidence"]["missing"]);
                std::cout << "\n";
            }
            for (const auto &signoff : item["signoffs"])
                std::cout << "               " << signoff["decision"].get<std::string>() << " by "
                          << signoff["reviewer"].get<std::string>()
                          << (signoff["role"].get<std::string>().empty()
                                  ? ""
                                  : " (" + signoff["role"].get<std::string>() + ")")
                          << " at " << signoff["time"].get<std::string>()
                          << (signoff["comment"].get<std::string>().empty()
                                  ? ""
                                  : ": " + signoff["comment"].get<std::string>())
                          << "\n";
        }
    }
    if (out["blocking"].empty())
        std::cout << "ready for promotion: every required item is passed or approved\n";
    else {
        std::cout << "blocking promotion (" << out["blocking"].size() << "):";
        for (const auto &id : out["blocking"])
            std::cout << " " << id.get<std::string>();
        std::cout << "\n";
    }
    return kExitOk;
}

int runSign(Args &args)
{
    ArgSpec spec("checklist sign NAME:VERSION ITEM --reviewer R --decision D [--comment C] "
                 "[--role ROLE] [--db PATH]",
                 "Record a sign-off on a manual checklist item. D is approve, reject or\n"
                 "needs_work; the latest sign-off sets the item's status. ITEM is the item id,\n"
                 "or TEMPLATE/ITEM when several checklists of the version share it.");
    spec.positional("NAME:VERSION", "the model version");
    spec.positional("ITEM", "checklist item id");
    spec.option("reviewer", "R", "reviewer name");
    spec.option("decision", "D", "approve | reject | needs_work");
    spec.option("comment", "C", "comment");
    spec.option("role", "ROLE", "reviewer's role (e.g. privacy officer)");
    spec.flag("json", "print the sign-off as one JSON object");
    addStoreOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    if (!parsed.has("reviewer") || !parsed.has("decision"))
        return reportError(args.command, makeError(ErrorCode::InvalidInput,
                                                   "--reviewer and --decision are required"));
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    auto version = store->resolveVersion(parsed.positional[0]);
    if (!version.ok())
        return reportError(args.command, version.error());
    governance::ChecklistService service(*store);
    auto signoff = service.sign(*version, parsed.positional[1], parsed.get("reviewer"),
                                parsed.get("role"), parsed.get("decision"), parsed.get("comment"));
    if (!signoff.ok())
        return reportError(args.command, signoff.error());
    if (parsed.flag("json"))
        printJson({{"item", parsed.positional[1]},
                   {"reviewer", signoff->reviewer},
                   {"role", signoff->role},
                   {"decision", signoff->decision},
                   {"comment", signoff->comment},
                   {"time", signoff->createdAt}});
    else
        std::cout << signoff->decision << " recorded for " << version->label() << " item "
                  << parsed.positional[1] << " by " << signoff->reviewer << "\n";
    return kExitOk;
}

int runChecklist(Args &args)
{
    return dispatchSubCommand(
        args, "Governance checklists per model version: evidence items and sign-offs.",
        {{"templates", "list checklist templates", runTemplates},
         {"start", "start a checklist for a model version", runStart},
         {"show", "show items, statuses, evidence and sign-offs", runShow},
         {"sign", "sign off a manual item", runSign}});
}

const CommandRegistrar registrar{"checklist", "Governance checklists: templates, start, show, sign",
                                 runChecklist};

} // namespace
} // namespace sb::cli
