#include "core/store/store_impl.h"

namespace sb::store {

using detail::parseJsonText;
using detail::Statement;
using detail::Transaction;

Result<AuditEntry> AuditRepository::append(const std::string &action, const std::string &subject,
                                           const Json &details)
{
    auto &impl = m_store.impl();
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(impl.db));
    SB_ASSIGN_OR_RETURN(AuditEntry entry, impl.appendAudit(action, subject, details));
    SB_TRY(transaction.commit());
    return entry;
}

Result<std::vector<AuditEntry>> AuditRepository::entries(std::optional<Id> afterId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("SELECT id, time, actor, action, subject, details, prev_hash, "
                                   "hash FROM audit_log WHERE id > ? ORDER BY id"));
    stmt.bind(1, afterId.value_or(0));
    std::vector<AuditEntry> entries;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        AuditEntry entry;
        entry.id = stmt.columnInt(0);
        entry.time = stmt.columnText(1);
        entry.actor = stmt.columnText(2);
        entry.action = stmt.columnText(3);
        entry.subject = stmt.columnText(4);
        std::string detailsText = stmt.columnText(5);
        entry.details = parseJsonText(detailsText);
        if (entry.details.is_null() && detailsText != "null")
            entry.details = detailsText; // unparseable: keep the text so the hash breaks
        entry.prevHash = stmt.columnText(6);
        entry.hash = stmt.columnText(7);
        entries.push_back(std::move(entry));
    }
    return entries;
}

Result<AuditVerification> AuditRepository::verify()
{
    auto &db = m_store.impl().db;
    // Read the chain and the AUTOINCREMENT high-water mark in one snapshot.
    SB_TRY(db.exec("BEGIN"));
    auto all = entries();
    auto sequence = db.queryInt(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'), 0)");
    (void)db.exec("COMMIT");
    if (!all.ok())
        return all.error();
    if (!sequence.ok())
        return sequence.error();

    AuditVerification verification;
    verification.entries = static_cast<std::int64_t>(all->size());
    std::string expectedPrev(64, '0');
    Id expectedId = 1;
    auto fail = [&](Id id, std::string problem) {
        verification.ok = false;
        verification.firstBadId = id;
        verification.problem = std::move(problem);
        return verification;
    };
    for (const AuditEntry &entry : *all) {
        if (entry.id != expectedId) {
            return fail(expectedId, entry.id > expectedId
                                        ? "entries " + std::to_string(expectedId) + ".." +
                                              std::to_string(entry.id - 1) +
                                              " are missing (deleted)"
                                        : "entry ids out of order at " + std::to_string(entry.id));
        }
        if (entry.prevHash != expectedPrev)
            return fail(entry.id, "entry " + std::to_string(entry.id) +
                                      ": prev_hash does not match the hash of entry " +
                                      std::to_string(entry.id - 1) + " (altered chain)");
        std::string recomputed = auditHash(entry.prevHash, auditCanonical(entry));
        if (recomputed != entry.hash)
            return fail(entry.id, "entry " + std::to_string(entry.id) +
                                      " was altered: stored hash " + entry.hash.substr(0, 12) +
                                      "... but its content hashes to " + recomputed.substr(0, 12) +
                                      "...");
        expectedPrev = entry.hash;
        ++expectedId;
    }
    if (*sequence >= expectedId)
        return fail(expectedId, "entries " + std::to_string(expectedId) + ".." +
                                    std::to_string(*sequence) +
                                    " at the end of the log are missing (deleted)");
    return verification;
}

} // namespace sb::store
