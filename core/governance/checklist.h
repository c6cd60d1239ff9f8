// Governance checklists: JSON templates, instantiation per model version,
// evidence refresh from stored results, sign-offs and the promotion gate.
//
// Template file (resources/checklists/*.json, <user data dir>/checklists/*.json,
// or --template-file):
//   {"id": "pii-privacy", "title": "PII and privacy", "description": "...",
//    "items": [{"id": "no-pii-columns", "section": "Data", "text": "...",
//               "required": true, "kind": "evidence", "rule": "pii_columns == 0"},
//              {"id": "dpia", "text": "...", "required": true, "kind": "manual"}]}
// Item ids are unique within a template ([A-Za-z0-9_.-]+); evidence rules use
// the language in rules.h over the metrics in evidence.h.
//
// Item status: manual items are open until signed (approve -> approved,
// reject -> rejected, needs_work -> needs_work; the latest sign-off wins);
// evidence items are passed / failing, or open while a metric is missing.
// A required item blocks promotion unless it is passed or approved.
#pragma once

#include "core/common/result.h"
#include "core/store/store.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::governance {

struct TemplateItem
{
    std::string id;
    std::string section;
    std::string text;
    bool required = true;
    std::string kind; // manual | evidence
    std::string rule; // evidence only
};

struct ChecklistTemplate
{
    std::string id;
    std::string title;
    std::string description;
    std::vector<TemplateItem> items;
    std::string source; // file it came from
    store::Json json;   // the template as read, stored with the checklist
};

// Validates a template (ids, kinds, rules parse); errors name the source and item.
Result<ChecklistTemplate> parseTemplate(const store::Json &json, const std::string &source);
Result<ChecklistTemplate> loadTemplateFile(const std::filesystem::path &path);

// resources/checklists, then <user data dir>/checklists (later ones with the
// same id override earlier ones, so teams can adapt bundled templates).
std::vector<std::filesystem::path> templateDirectories();
// All templates, sorted by id. Unreadable files are reported in `problems`.
std::vector<ChecklistTemplate> loadTemplates(std::vector<std::string> *problems = nullptr);
Result<ChecklistTemplate> findTemplate(const std::string &id);

bool itemSatisfied(const store::ChecklistItemRecord &item);
// The status a sign-off decision sets: approve -> Approved, reject ->
// Rejected, needs_work -> NeedsWork; nullopt for anything else.
std::optional<store::ItemStatus> statusForDecision(std::string_view decision);

struct BlockingItem
{
    std::string templateId;
    std::string itemId;
    store::ItemStatus status = store::ItemStatus::Open;
    std::string text;
};

class ChecklistService
{
public:
    explicit ChecklistService(store::Store &store) : m_store(store) {}

    Result<store::ChecklistRecord> start(const store::ModelVersionRecord &version,
                                         const ChecklistTemplate &checklistTemplate);
    // Re-evaluates every evidence item of the version's checklists against the
    // latest stored results; changed statuses are audited.
    Status refreshEvidence(const store::ModelVersionRecord &version);
    // item: "ITEM" or "TEMPLATE/ITEM" when several checklists share the id.
    // decision: approve | reject | needs_work.
    Result<store::SignoffRecord> sign(const store::ModelVersionRecord &version,
                                      const std::string &item, const std::string &reviewer,
                                      const std::string &role, const std::string &decision,
                                      const std::string &comment);
    // Required items that are not passed/approved (after refreshEvidence).
    Result<std::vector<BlockingItem>> blockingItems(const store::ModelVersionRecord &version);
    // Promotion gate + deployment: refused (ErrorCode::Conflict) naming the
    // blocking items.
    Result<store::DeploymentRecord> promote(const store::ModelVersionRecord &version,
                                            const std::string &env, const std::string &comment);

    // The checklists of a version as JSON (for `checklist show --json`, the
    // report and the model card).
    Result<store::Json> describe(const store::ModelVersionRecord &version);

private:
    store::Store &m_store;
};

} // namespace sb::governance
