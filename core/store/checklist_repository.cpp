#include "core/store/store_impl.h"

namespace sb::store {

using detail::jsonText;
using detail::parseJsonText;
using detail::Statement;
using detail::Transaction;

namespace {

constexpr std::pair<ItemStatus, const char *> kItemStatusNames[] = {
    {ItemStatus::Open, "open"},         {ItemStatus::Passed, "passed"},
    {ItemStatus::Failing, "failing"},   {ItemStatus::Approved, "approved"},
    {ItemStatus::Rejected, "rejected"}, {ItemStatus::NeedsWork, "needs_work"}};

Result<std::vector<ChecklistItemRecord>> loadItems(detail::Database &db, Id checklistId)
{
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("SELECT id, checklist_id, item_id, section, text, required, "
                                   "kind, rule, status, evidence, updated_at FROM checklist_items "
                                   "WHERE checklist_id = ? ORDER BY id"));
    stmt.bind(1, checklistId);
    std::vector<ChecklistItemRecord> items;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        ChecklistItemRecord item;
        item.id = stmt.columnInt(0);
        item.checklistId = stmt.columnInt(1);
        item.itemId = stmt.columnText(2);
        item.section = stmt.columnText(3);
        item.text = stmt.columnText(4);
        item.required = stmt.columnInt(5) != 0;
        item.kind = stmt.columnText(6);
        item.rule = stmt.columnText(7);
        const std::string status = stmt.columnText(8);
        const std::optional<ItemStatus> parsed = parseItemStatus(status);
        if (!parsed)
            return makeError(ErrorCode::InvalidInput, "checklist item '" + item.itemId +
                                                          "': unknown status '" + status + "'");
        item.status = *parsed;
        item.evidence = parseJsonText(stmt.columnText(9));
        item.updatedAt = stmt.columnText(10);
        items.push_back(std::move(item));
    }
    return items;
}

Result<std::vector<ChecklistRecord>> loadChecklists(detail::Database &db, Statement &stmt)
{
    std::vector<ChecklistRecord> records;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        ChecklistRecord record;
        record.id = stmt.columnInt(0);
        record.modelVersionId = stmt.columnInt(1);
        record.templateId = stmt.columnText(2);
        record.title = stmt.columnText(3);
        record.templateJson = parseJsonText(stmt.columnText(4));
        record.createdAt = stmt.columnText(5);
        record.createdBy = stmt.columnText(6);
        records.push_back(std::move(record));
    }
    for (auto &record : records) {
        SB_ASSIGN_OR_RETURN(record.items, loadItems(db, record.id));
    }
    return records;
}

constexpr const char *kChecklistColumns =
    "SELECT id, model_version_id, template_id, title, template, created_at, created_by FROM "
    "checklists ";

} // namespace

Result<ChecklistRecord> ChecklistRepository::create(Id modelVersionId,
                                                    const std::string &templateId,
                                                    const std::string &title,
                                                    const Json &templateJson,
                                                    const std::vector<ChecklistItemRecord> &items)
{
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(ModelVersionRecord version, m_store.models().versionById(modelVersionId));
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    {
        SB_ASSIGN_OR_RETURN(Statement exists,
                            db.prepare("SELECT id FROM checklists WHERE model_version_id = ? AND "
                                       "template_id = ?"));
        exists.bind(1, modelVersionId).bind(2, templateId);
        SB_ASSIGN_OR_RETURN(bool row, exists.step());
        if (row)
            return makeError(ErrorCode::Conflict, "checklist '" + templateId +
                                                      "' already started for " + version.label());
    }
    std::string now = utcNowIso8601();
    ChecklistRecord record;
    record.modelVersionId = modelVersionId;
    record.templateId = templateId;
    record.title = title;
    record.templateJson = templateJson;
    record.createdAt = now;
    record.createdBy = impl.actor;
    {
        SB_ASSIGN_OR_RETURN(Statement insert,
                            db.prepare("INSERT INTO checklists (model_version_id, template_id, "
                                       "title, template, created_at, created_by) VALUES (?, ?, ?, "
                                       "?, ?, ?)"));
        insert.bind(1, modelVersionId)
            .bind(2, templateId)
            .bind(3, title)
            .bind(4, jsonText(templateJson))
            .bind(5, now)
            .bind(6, impl.actor);
        SB_TRY(insert.run());
        record.id = db.lastInsertId();
    }
    SB_ASSIGN_OR_RETURN(Statement insertItem,
                        db.prepare("INSERT INTO checklist_items (checklist_id, item_id, section, "
                                   "text, required, kind, rule, status, evidence, updated_at) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    for (const auto &input : items) {
        ChecklistItemRecord item = input;
        item.checklistId = record.id;
        item.updatedAt = now;
        insertItem.bind(1, item.checklistId)
            .bind(2, item.itemId)
            .bind(3, item.section)
            .bind(4, item.text)
            .bind(5, item.required ? 1 : 0)
            .bind(6, item.kind)
            .bind(7, item.rule)
            .bind(8, itemStatusName(item.status))
            .bind(9, jsonText(item.evidence))
            .bind(10, item.updatedAt);
        Status inserted = insertItem.run();
        if (!inserted.ok())
            return inserted.error().withContext("checklist item '" + item.itemId + "'");
        insertItem.reset();
        item.id = db.lastInsertId();
        record.items.push_back(std::move(item));
    }
    SB_TRY(impl.appendAudit("checklist.start", version.label(),
                            {{"checklist_id", record.id},
                             {"template", templateId},
                             {"items", static_cast<std::int64_t>(record.items.size())}}));
    SB_TRY(transaction.commit());
    return record;
}

Result<std::vector<ChecklistRecord>> ChecklistRepository::forVersion(Id modelVersionId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt, db.prepare(std::string(kChecklistColumns) +
                                                   "WHERE model_version_id = ? ORDER BY id"));
    stmt.bind(1, modelVersionId);
    return loadChecklists(db, stmt);
}

Result<std::optional<ChecklistRecord>> ChecklistRepository::find(Id modelVersionId,
                                                                 const std::string &templateId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare(std::string(kChecklistColumns) +
                                   "WHERE model_version_id = ? AND template_id = ?"));
    stmt.bind(1, modelVersionId).bind(2, templateId);
    SB_ASSIGN_OR_RETURN(auto records, loadChecklists(db, stmt));
    if (records.empty())
        return std::optional<ChecklistRecord>();
    return std::optional<ChecklistRecord>(std::move(records.front()));
}

Status ChecklistRepository::updateItemStatus(Id checklistItemId, ItemStatus newStatus,
                                             const Json &evidence, const std::string &subject)
{
    const std::string status = itemStatusName(newStatus);
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    std::string oldStatus, itemId;
    {
        SB_ASSIGN_OR_RETURN(Statement current,
                            db.prepare("SELECT status, item_id FROM checklist_items WHERE id = ?"));
        current.bind(1, checklistItemId);
        SB_ASSIGN_OR_RETURN(bool row, current.step());
        if (!row)
            return makeError(ErrorCode::NotFound,
                             "no checklist item with id " + std::to_string(checklistItemId));
        oldStatus = current.columnText(0);
        itemId = current.columnText(1);
    }
    SB_ASSIGN_OR_RETURN(Statement update,
                        db.prepare("UPDATE checklist_items SET status = ?, evidence = ?, "
                                   "updated_at = ? WHERE id = ?"));
    update.bind(1, status)
        .bind(2, jsonText(evidence))
        .bind(3, utcNowIso8601())
        .bind(4, checklistItemId);
    SB_TRY(update.run());
    if (oldStatus != status) {
        SB_TRY(impl.appendAudit(
            "checklist.evidence", subject,
            {{"item", itemId}, {"from", oldStatus}, {"to", status}, {"evidence", evidence}}));
    }
    return transaction.commit();
}

Result<SignoffRecord> ChecklistRepository::sign(Id checklistItemId, const SignoffRecord &signoff,
                                                ItemStatus newStatus, const std::string &subject)
{
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    std::string itemId, oldStatus;
    {
        SB_ASSIGN_OR_RETURN(Statement current,
                            db.prepare("SELECT status, item_id FROM checklist_items WHERE id = ?"));
        current.bind(1, checklistItemId);
        SB_ASSIGN_OR_RETURN(bool row, current.step());
        if (!row)
            return makeError(ErrorCode::NotFound,
                             "no checklist item with id " + std::to_string(checklistItemId));
        oldStatus = current.columnText(0);
        itemId = current.columnText(1);
    }
    SignoffRecord record = signoff;
    record.checklistItemId = checklistItemId;
    record.createdAt = utcNowIso8601();
    record.createdBy = impl.actor;
    {
        SB_ASSIGN_OR_RETURN(Statement insert,
                            db.prepare("INSERT INTO signoffs (checklist_item_id, reviewer, role, "
                                       "decision, comment, created_at, created_by) VALUES (?, ?, "
                                       "?, ?, ?, ?, ?)"));
        insert.bind(1, checklistItemId)
            .bind(2, record.reviewer)
            .bind(3, record.role)
            .bind(4, record.decision)
            .bind(5, record.comment)
            .bind(6, record.createdAt)
            .bind(7, record.createdBy);
        Status inserted = insert.run();
        if (!inserted.ok())
            return inserted.error().withContext("sign-off for item '" + itemId + "'");
        record.id = db.lastInsertId();
    }
    Json evidence = {{"reviewer", record.reviewer},
                     {"role", record.role},
                     {"decision", record.decision},
                     {"comment", record.comment},
                     {"signed_at", record.createdAt}};
    {
        SB_ASSIGN_OR_RETURN(Statement update,
                            db.prepare("UPDATE checklist_items SET status = ?, evidence = ?, "
                                       "updated_at = ? WHERE id = ?"));
        update.bind(1, itemStatusName(newStatus))
            .bind(2, jsonText(evidence))
            .bind(3, record.createdAt)
            .bind(4, checklistItemId);
        SB_TRY(update.run());
    }
    SB_TRY(impl.appendAudit("checklist.sign", subject,
                            {{"item", itemId},
                             {"signoff_id", record.id},
                             {"reviewer", record.reviewer},
                             {"role", record.role},
                             {"decision", record.decision},
                             {"comment", record.comment},
                             {"from", oldStatus},
                             {"to", itemStatusName(newStatus)}}));
    SB_TRY(transaction.commit());
    return record;
}

Result<std::vector<SignoffRecord>> ChecklistRepository::signoffs(Id checklistItemId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("SELECT id, checklist_item_id, reviewer, role, decision, "
                                   "comment, created_at, created_by FROM signoffs WHERE "
                                   "checklist_item_id = ? ORDER BY id"));
    stmt.bind(1, checklistItemId);
    std::vector<SignoffRecord> records;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        SignoffRecord record;
        record.id = stmt.columnInt(0);
        record.checklistItemId = stmt.columnInt(1);
        record.reviewer = stmt.columnText(2);
        record.role = stmt.columnText(3);
        record.decision = stmt.columnText(4);
        record.comment = stmt.columnText(5);
        record.createdAt = stmt.columnText(6);
        record.createdBy = stmt.columnText(7);
        records.push_back(std::move(record));
    }
    return records;
}

const char *itemStatusName(ItemStatus status)
{
    for (const auto &[value, name] : kItemStatusNames)
        if (value == status)
            return name;
    return "open";
}

std::optional<ItemStatus> parseItemStatus(std::string_view name)
{
    for (const auto &[value, text] : kItemStatusNames)
        if (name == text)
            return value;
    return std::nullopt;
}

bool itemStatusSatisfied(ItemStatus status)
{
    return status == ItemStatus::Passed || status == ItemStatus::Approved;
}

} // namespace sb::store
