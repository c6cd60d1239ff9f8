// `shardbench-cli audit verify|log`: the tamper-evident audit chain.
#include "app/cli/command.h"
#include "app/cli/store_cli.h"

#include <iostream>

namespace sb::cli {
namespace {

using store::Json;

int runVerify(Args &args)
{
    ArgSpec spec("audit verify [--json] [--db PATH]",
                 "Recompute the audit chain: hash = sha256(prev_hash || canonical entry),\n"
                 "canonical entry = the JSON object {action, actor, details, id, prev_hash,\n"
                 "subject, time} with sorted keys and no spaces. Reports the first altered\n"
                 "entry or the first deleted id (gaps in ids, or rows missing at the end).\n"
                 "Exit 0 when the chain is intact, 1 when it is broken.");
    spec.flag("json", "print one JSON object");
    addStoreOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    auto verification = store->audit().verify();
    if (!verification.ok())
        return reportError(args.command, verification.error());
    if (parsed.flag("json")) {
        printJson(
            {{"ok", verification->ok},
             {"entries", verification->entries},
             {"first_bad_id", verification->firstBadId ? Json(*verification->firstBadId) : Json()},
             {"problem", verification->problem},
             {"database", store->path().string()}});
    } else if (verification->ok) {
        std::cout << "audit chain intact: " << verification->entries << " entries verified\n";
    } else {
        std::cout << "audit chain BROKEN at entry " << *verification->firstBadId << ": "
                  << verification->problem << "\n";
    }
    return verification->ok ? kExitOk : kExitFailure;
}

int runLog(Args &args)
{
    ArgSpec spec("audit log [--json] [--limit N] [--db PATH]",
                 "List audit entries, oldest first: id, time (UTC), actor, action, subject,\n"
                 "details and hash.");
    spec.flag("json", "print one JSON object");
    spec.option("limit", "N", "only the last N entries");
    addStoreOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    auto limit = parsed.getInt("limit", 0);
    if (!limit.ok())
        return reportError(args.command, limit.error());
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    auto entries = store->audit().entries();
    if (!entries.ok())
        return reportError(args.command, entries.error());
    std::size_t first = 0;
    if (*limit > 0 && entries->size() > static_cast<std::size_t>(*limit))
        first = entries->size() - static_cast<std::size_t>(*limit);
    Json out = {{"entries", Json::array()}};
    for (std::size_t i = first; i < entries->size(); ++i) {
        const auto &entry = (*entries)[i];
        out["entries"].push_back({{"id", entry.id},
                                  {"time", entry.time},
                                  {"actor", entry.actor},
                                  {"action", entry.action},
                                  {"subject", entry.subject},
                                  {"details", entry.details},
                                  {"prev_hash", entry.prevHash},
                                  {"hash", entry.hash}});
    }
    if (parsed.flag("json")) {
        printJson(out);
        return kExitOk;
    }
    for (const auto &entry : out["entries"])
        std::cout << entry["id"].get<long long>() << "  " << entry["time"].get<std::string>()
                  << "  " << entry["actor"].get<std::string>() << "  "
                  << entry["action"].get<std::string>() << "  "
                  << entry["subject"].get<std::string>() << "  "
                  << entry["hash"].get<std::string>().substr(0, 12) << "  "
                  << entry["details"].dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
    return kExitOk;
}

int runAudit(Args &args)
{
    return dispatchSubCommand(
        args, "The append-only, hash-chained audit log of every state change.",
        {{"verify", "recompute the hash chain", runVerify}, {"log", "list audit entries", runLog}});
}

const CommandRegistrar registrar{"audit", "Verify and list the tamper-evident audit log", runAudit};

} // namespace
} // namespace sb::cli
