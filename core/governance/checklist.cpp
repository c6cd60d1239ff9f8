#include "core/governance/checklist.h"

#include "core/common/paths.h"
#include "core/eval/rules.h"
#include "core/governance/evidence.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace sb::governance {

namespace fs = std::filesystem;
using eval::Rule;
using eval::Verdict;
using store::Json;

namespace {

bool validId(const std::string &id)
{
    if (id.empty())
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

Result<std::string> stringField(const Json &object, const char *key, const std::string &where,
                                bool required)
{
    if (!object.contains(key)) {
        if (required)
            return makeError(ErrorCode::InvalidInput, where + ": missing \"" + key + "\"");
        return std::string();
    }
    if (!object[key].is_string())
        return makeError(ErrorCode::InvalidInput, where + ": \"" + key + "\" must be a string");
    return object[key].get<std::string>();
}

} // namespace

Result<ChecklistTemplate> parseTemplate(const Json &json, const std::string &source)
{
    if (!json.is_object())
        return makeError(ErrorCode::InvalidInput, source + ": a template must be a JSON object");
    ChecklistTemplate result;
    result.source = source;
    result.json = json;
    SB_ASSIGN_OR_RETURN(result.id, stringField(json, "id", source, true));
    if (!validId(result.id))
        return makeError(ErrorCode::InvalidInput,
                         source + ": template id '" + result.id + "' must match [A-Za-z0-9_.-]+");
    SB_ASSIGN_OR_RETURN(result.title, stringField(json, "title", source, true));
    SB_ASSIGN_OR_RETURN(result.description, stringField(json, "description", source, false));
    if (!json.contains("items") || !json["items"].is_array() || json["items"].empty())
        return makeError(ErrorCode::InvalidInput, source + ": \"items\" must be a non-empty array");
    std::set<std::string> seen;
    std::size_t index = 0;
    for (const Json &itemJson : json["items"]) {
        std::string where = source + ": items[" + std::to_string(index++) + "]";
        if (!itemJson.is_object())
            return makeError(ErrorCode::InvalidInput, where + ": must be an object");
        TemplateItem item;
        SB_ASSIGN_OR_RETURN(item.id, stringField(itemJson, "id", where, true));
        where += " ('" + item.id + "')";
        if (!validId(item.id))
            return makeError(ErrorCode::InvalidInput, where + ": id must match [A-Za-z0-9_.-]+");
        if (!seen.insert(item.id).second)
            return makeError(ErrorCode::InvalidInput, where + ": duplicate item id");
        SB_ASSIGN_OR_RETURN(item.text, stringField(itemJson, "text", where, true));
        SB_ASSIGN_OR_RETURN(item.section, stringField(itemJson, "section", where, false));
        SB_ASSIGN_OR_RETURN(item.kind, stringField(itemJson, "kind", where, true));
        if (item.kind != "manual" && item.kind != "evidence")
            return makeError(ErrorCode::InvalidInput,
                             where + ": kind must be \"manual\" or \"evidence\", not \"" +
                                 item.kind + "\"");
        if (itemJson.contains("required")) {
            if (!itemJson["required"].is_boolean())
                return makeError(ErrorCode::InvalidInput,
                                 where + ": \"required\" must be true/false");
            item.required = itemJson["required"].get<bool>();
        }
        SB_ASSIGN_OR_RETURN(item.rule,
                            stringField(itemJson, "rule", where, item.kind == "evidence"));
        if (item.kind == "evidence") {
            auto rule = Rule::parse(item.rule);
            if (!rule.ok())
                return rule.error().withContext(where);
        } else if (!item.rule.empty()) {
            return makeError(ErrorCode::InvalidInput, where + ": manual items take no rule");
        }
        result.items.push_back(std::move(item));
    }
    return result;
}

Result<ChecklistTemplate> loadTemplateFile(const fs::path &path)
{
    std::ifstream in(path);
    if (!in)
        return makeError(ErrorCode::NotFound, path.string() + ": cannot open template");
    std::stringstream buffer;
    buffer << in.rdbuf();
    Json json = Json::parse(buffer.str(), nullptr, false);
    if (json.is_discarded())
        return makeError(ErrorCode::InvalidInput, path.string() + ": not valid JSON");
    return parseTemplate(json, path.string());
}

std::vector<fs::path> templateDirectories()
{
    return {resourceDir() / "checklists", userDataDir() / "checklists"};
}

std::vector<ChecklistTemplate> loadTemplates(std::vector<std::string> *problems)
{
    std::map<std::string, ChecklistTemplate> byId;
    for (const fs::path &dir : templateDirectories()) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec))
            continue;
        std::vector<fs::path> files;
        for (const auto &entry : fs::directory_iterator(dir, ec))
            if (entry.path().extension() == ".json")
                files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const fs::path &file : files) {
            auto loaded = loadTemplateFile(file);
            if (!loaded.ok()) {
                if (problems)
                    problems->push_back(loaded.error().message);
                continue;
            }
            byId[loaded->id] = std::move(loaded).value();
        }
    }
    std::vector<ChecklistTemplate> result;
    for (auto &[id, checklistTemplate] : byId)
        result.push_back(std::move(checklistTemplate));
    return result;
}

Result<ChecklistTemplate> findTemplate(const std::string &id)
{
    auto templates = loadTemplates();
    for (auto &checklistTemplate : templates)
        if (checklistTemplate.id == id)
            return std::move(checklistTemplate);
    std::string known;
    for (const auto &checklistTemplate : templates)
        known += (known.empty() ? "" : ", ") + checklistTemplate.id;
    return makeError(ErrorCode::NotFound, "no checklist template '" + id + "' (known: " +
                                              (known.empty() ? "none" : known) + ")");
}

std::optional<store::ItemStatus> statusForDecision(std::string_view decision)
{
    if (decision == "approve")
        return store::ItemStatus::Approved;
    if (decision == "reject")
        return store::ItemStatus::Rejected;
    if (decision == "needs_work")
        return store::ItemStatus::NeedsWork;
    return std::nullopt;
}

bool itemSatisfied(const store::ChecklistItemRecord &item)
{
    return store::itemStatusSatisfied(item.status);
}

Result<store::ChecklistRecord> ChecklistService::start(const store::ModelVersionRecord &version,
                                                       const ChecklistTemplate &checklistTemplate)
{
    std::vector<store::ChecklistItemRecord> items;
    for (const TemplateItem &templateItem : checklistTemplate.items) {
        store::ChecklistItemRecord item;
        item.itemId = templateItem.id;
        item.section = templateItem.section;
        item.text = templateItem.text;
        item.required = templateItem.required;
        item.kind = templateItem.kind;
        item.rule = templateItem.rule;
        item.status = store::ItemStatus::Open;
        items.push_back(std::move(item));
    }
    SB_ASSIGN_OR_RETURN(auto record, m_store.checklists().create(version.id, checklistTemplate.id,
                                                                 checklistTemplate.title,
                                                                 checklistTemplate.json, items));
    SB_TRY(refreshEvidence(version));
    SB_ASSIGN_OR_RETURN(auto refreshed,
                        m_store.checklists().find(version.id, checklistTemplate.id));
    return refreshed ? std::move(*refreshed) : record;
}

Status ChecklistService::refreshEvidence(const store::ModelVersionRecord &version)
{
    SB_ASSIGN_OR_RETURN(auto checklists, m_store.checklists().forVersion(version.id));
    bool anyEvidence = false;
    for (const auto &checklist : checklists)
        for (const auto &item : checklist.items)
            anyEvidence = anyEvidence || item.kind == "evidence";
    if (!anyEvidence)
        return Status::success();
    SB_ASSIGN_OR_RETURN(MetricMap metrics, metricsForVersion(m_store, version.id));
    for (const auto &checklist : checklists) {
        for (const auto &item : checklist.items) {
            if (item.kind != "evidence")
                continue;
            auto rule = Rule::parse(item.rule);
            store::ItemStatus status = store::ItemStatus::Open;
            Json evidence = Json::object();
            if (!rule.ok()) {
                evidence["error"] = rule.error().message;
            } else {
                Verdict verdict = rule->evaluate(metrics);
                status = verdict == Verdict::Pass   ? store::ItemStatus::Passed
                         : verdict == Verdict::Fail ? store::ItemStatus::Failing
                                                    : store::ItemStatus::Open;
                Json values = Json::object();
                Json missing = Json::array();
                for (const std::string &name : rule->metricNames()) {
                    auto it = metrics.find(name);
                    if (it == metrics.end())
                        missing.push_back(name);
                    else
                        values[name] = it->second;
                }
                evidence["values"] = values;
                if (!missing.empty())
                    evidence["missing"] = missing;
            }
            if (status == item.status && evidence == item.evidence)
                continue;
            SB_TRY(m_store.checklists().updateItemStatus(
                item.id, status, evidence,
                version.label() + " " + checklist.templateId + "/" + item.itemId));
        }
    }
    return Status::success();
}

Result<store::SignoffRecord>
ChecklistService::sign(const store::ModelVersionRecord &version, const std::string &item,
                       const std::string &reviewer, const std::string &role,
                       const std::string &decision, const std::string &comment)
{
    const std::string normalised = decision == "needs-work" ? "needs_work" : decision;
    const std::optional<store::ItemStatus> status = statusForDecision(normalised);
    if (!status)
        return makeError(ErrorCode::InvalidInput,
                         "decision '" + decision + "' must be approve, reject or needs_work");
    if (reviewer.empty())
        return makeError(ErrorCode::InvalidInput, "a reviewer name is required (--reviewer)");
    std::string templateId, itemId = item;
    if (auto slash = item.find('/'); slash != std::string::npos) {
        templateId = item.substr(0, slash);
        itemId = item.substr(slash + 1);
    }
    SB_ASSIGN_OR_RETURN(auto checklists, m_store.checklists().forVersion(version.id));
    if (checklists.empty())
        return makeError(ErrorCode::NotFound, "no checklist started for " + version.label() +
                                                  " (use `checklist start`)");
    std::vector<std::pair<const store::ChecklistRecord *, const store::ChecklistItemRecord *>> hits;
    for (const auto &checklist : checklists) {
        if (!templateId.empty() && checklist.templateId != templateId)
            continue;
        for (const auto &candidate : checklist.items)
            if (candidate.itemId == itemId)
                hits.emplace_back(&checklist, &candidate);
    }
    if (hits.empty())
        return makeError(ErrorCode::NotFound,
                         "no checklist item '" + item + "' for " + version.label());
    if (hits.size() > 1) {
        std::string options;
        for (const auto &[checklist, candidate] : hits)
            options += (options.empty() ? "" : ", ") + checklist->templateId + "/" + itemId;
        return makeError(ErrorCode::InvalidInput,
                         "item '" + item + "' is in several checklists; name one of: " + options);
    }
    const auto &[checklist, target] = hits.front();
    if (target->kind != "manual")
        return makeError(ErrorCode::InvalidInput,
                         "item '" + itemId + "' is an evidence item (rule: " + target->rule +
                             "); it updates from stored results and takes no sign-off");
    store::SignoffRecord signoff;
    signoff.reviewer = reviewer;
    signoff.role = role;
    signoff.decision = normalised;
    signoff.comment = comment;
    return m_store.checklists().sign(target->id, signoff, *status,
                                     version.label() + " " + checklist->templateId + "/" + itemId);
}

Result<std::vector<BlockingItem>>
ChecklistService::blockingItems(const store::ModelVersionRecord &version)
{
    SB_TRY(refreshEvidence(version));
    SB_ASSIGN_OR_RETURN(auto checklists, m_store.checklists().forVersion(version.id));
    std::vector<BlockingItem> blocking;
    for (const auto &checklist : checklists)
        for (const auto &item : checklist.items)
            if (item.required && !itemSatisfied(item))
                blocking.push_back({checklist.templateId, item.itemId, item.status, item.text});
    return blocking;
}

Result<store::DeploymentRecord> ChecklistService::promote(const store::ModelVersionRecord &version,
                                                          const std::string &env,
                                                          const std::string &comment)
{
    SB_ASSIGN_OR_RETURN(auto blocking, blockingItems(version));
    if (!blocking.empty()) {
        std::string list;
        for (const auto &item : blocking)
            list += "\n  " + item.templateId + "/" + item.itemId + " (" +
                    store::itemStatusName(item.status) + ")";
        return makeError(ErrorCode::Conflict,
                         "promotion of " + version.label() + " to '" + env +
                             "' refused: " + std::to_string(blocking.size()) +
                             " required checklist item(s) not passed or approved:" + list);
    }
    return m_store.deployments().promote(version, env, comment);
}

Result<Json> ChecklistService::describe(const store::ModelVersionRecord &version)
{
    SB_TRY(refreshEvidence(version));
    SB_ASSIGN_OR_RETURN(auto checklists, m_store.checklists().forVersion(version.id));
    Json result = {
        {"model", version.modelName}, {"version", version.version}, {"checklists", Json::array()}};
    Json blocking = Json::array();
    for (const auto &checklist : checklists) {
        Json items = Json::array();
        std::size_t satisfied = 0;
        for (const auto &item : checklist.items) {
            SB_ASSIGN_OR_RETURN(auto signoffs, m_store.checklists().signoffs(item.id));
            Json signoffJson = Json::array();
            for (const auto &signoff : signoffs)
                signoffJson.push_back({{"reviewer", signoff.reviewer},
                                       {"role", signoff.role},
                                       {"decision", signoff.decision},
                                       {"comment", signoff.comment},
                                       {"time", signoff.createdAt}});
            bool ok = itemSatisfied(item);
            satisfied += ok ? 1 : 0;
            if (item.required && !ok)
                blocking.push_back(checklist.templateId + "/" + item.itemId);
            items.push_back({{"id", item.itemId},
                             {"section", item.section},
                             {"text", item.text},
                             {"required", item.required},
                             {"kind", item.kind},
                             {"rule", item.rule},
                             {"status", store::itemStatusName(item.status)},
                             {"evidence", item.evidence},
                             {"updated_at", item.updatedAt},
                             {"signoffs", signoffJson}});
        }
        result["checklists"].push_back({{"template", checklist.templateId},
                                        {"title", checklist.title},
                                        {"created_at", checklist.createdAt},
                                        {"created_by", checklist.createdBy},
                                        {"items_total", checklist.items.size()},
                                        {"items_satisfied", satisfied},
                                        {"items", items}});
    }
    result["blocking"] = blocking;
    result["ready"] = blocking.empty() && !checklists.empty();
    return result;
}

} // namespace sb::governance
