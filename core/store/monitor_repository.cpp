#include "core/store/store_impl.h"

#include <map>
#include <set>

namespace sb::store {

using detail::Statement;
using detail::Transaction;

namespace {

constexpr const char *kWindowColumns =
    "SELECT id, model_version_id, model, version, env, started_at, ended_at, requests, rows, "
    "failures, error_rate, share_drifted, dataset_drift, estimated_accuracy, realized_accuracy, "
    "labelled, report, created_at FROM monitor_windows ";

void bindOptional(Statement &stmt, int index, const std::optional<double> &value)
{
    if (value)
        stmt.bind(index, *value);
    else
        stmt.bindNull(index);
}

std::optional<double> optionalDouble(const Statement &row, int column)
{
    if (row.columnIsNull(column))
        return std::nullopt;
    return row.columnDouble(column);
}

MonitorWindowRecord readWindow(const Statement &row)
{
    MonitorWindowRecord w;
    w.id = row.columnInt(0);
    w.modelVersionId = row.columnOptionalInt(1);
    w.model = row.columnText(2);
    w.version = row.columnText(3);
    w.env = row.columnText(4);
    w.startedAt = row.columnText(5);
    w.endedAt = row.columnText(6);
    w.requests = row.columnInt(7);
    w.rows = row.columnInt(8);
    w.failures = row.columnInt(9);
    w.errorRate = row.columnDouble(10);
    w.shareDrifted = optionalDouble(row, 11);
    w.datasetDrift = row.columnInt(12) != 0;
    w.estimatedAccuracy = optionalDouble(row, 13);
    w.realizedAccuracy = optionalDouble(row, 14);
    w.labelled = row.columnInt(15);
    w.report = detail::parseJsonText(row.columnText(16));
    w.createdAt = row.columnText(17);
    return w;
}

Result<MonitorWindowRecord> windowById(detail::Database &db, Id id)
{
    SB_ASSIGN_OR_RETURN(Statement stmt, db.prepare(std::string(kWindowColumns) + "WHERE id = ?"));
    stmt.bind(1, id);
    SB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row)
        return makeError(ErrorCode::NotFound, "no monitoring window " + std::to_string(id));
    return readWindow(stmt);
}

} // namespace

Result<MonitorWindowRecord>
MonitorRepository::saveWindow(const MonitorWindowRecord &window,
                              const std::vector<MonitorPrediction> &predictions,
                              std::vector<MonitorAlertRecord> alerts)
{
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    MonitorWindowRecord saved = window;
    saved.createdAt = utcNowIso8601();
    SB_ASSIGN_OR_RETURN(
        Statement insert,
        db.prepare("INSERT INTO monitor_windows (model_version_id, model, version, env, "
                   "started_at, ended_at, requests, rows, failures, error_rate, share_drifted, "
                   "dataset_drift, estimated_accuracy, realized_accuracy, labelled, report, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.bind(1, saved.modelVersionId)
        .bind(2, saved.model)
        .bind(3, saved.version)
        .bind(4, saved.env)
        .bind(5, saved.startedAt)
        .bind(6, saved.endedAt)
        .bind(7, saved.requests)
        .bind(8, saved.rows)
        .bind(9, saved.failures)
        .bind(10, saved.errorRate);
    bindOptional(insert, 11, saved.shareDrifted);
    insert.bind(12, saved.datasetDrift ? 1 : 0);
    bindOptional(insert, 13, saved.estimatedAccuracy);
    bindOptional(insert, 14, saved.realizedAccuracy);
    insert.bind(15, saved.labelled)
        .bind(16, detail::jsonText(saved.report))
        .bind(17, saved.createdAt);
    SB_TRY(insert.run());
    saved.id = db.lastInsertId();
    SB_ASSIGN_OR_RETURN(Statement prediction,
                        db.prepare("INSERT INTO monitor_predictions (window_id, request_id, row, "
                                   "predicted, confidence) VALUES (?, ?, ?, ?, ?)"));
    for (const auto &p : predictions) {
        prediction.reset();
        prediction.bind(1, saved.id)
            .bind(2, p.requestId)
            .bind(3, p.row)
            .bind(4, p.predicted)
            .bind(5, p.confidence);
        SB_TRY(prediction.run());
    }
    for (auto &alert : alerts) {
        alert.windowId = saved.id;
        alert.createdAt = utcNowIso8601();
        alert.createdBy = impl.actor;
        SB_ASSIGN_OR_RETURN(Statement stmt,
                            db.prepare("INSERT INTO monitor_alerts (window_id, model, version, "
                                       "trigger, rule, metrics, created_at, created_by) VALUES "
                                       "(?, ?, ?, ?, ?, ?, ?, ?)"));
        stmt.bind(1, alert.windowId)
            .bind(2, alert.model)
            .bind(3, alert.version)
            .bind(4, alert.trigger)
            .bind(5, alert.rule)
            .bind(6, detail::jsonText(alert.metrics))
            .bind(7, alert.createdAt)
            .bind(8, alert.createdBy);
        SB_TRY(stmt.run());
        alert.id = db.lastInsertId();
        SB_TRY(impl.appendAudit("monitor.alert", alert.model + ":" + alert.version,
                                {{"trigger", alert.trigger},
                                 {"rule", alert.rule},
                                 {"window_id", alert.windowId},
                                 {"alert_id", alert.id},
                                 {"env", saved.env},
                                 {"metrics", alert.metrics}}));
    }
    SB_TRY(transaction.commit());
    return saved;
}

Result<std::vector<MonitorWindowRecord>>
MonitorRepository::windows(const std::string &model, const std::string &version, std::int64_t limit)
{
    auto &db = m_store.impl().db;
    std::string sql = "SELECT * FROM (" + std::string(kWindowColumns) + "WHERE model = ?" +
                      (version.empty() ? "" : " AND version = ?") + " ORDER BY id DESC" +
                      (limit > 0 ? " LIMIT " + std::to_string(limit) : "") + ") ORDER BY id";
    SB_ASSIGN_OR_RETURN(Statement stmt, db.prepare(sql));
    stmt.bind(1, model);
    if (!version.empty())
        stmt.bind(2, version);
    std::vector<MonitorWindowRecord> out;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        out.push_back(readWindow(stmt));
    }
    return out;
}

Result<std::vector<MonitorAlertRecord>> MonitorRepository::alerts(const std::string &model,
                                                                  const std::string &version)
{
    auto &db = m_store.impl().db;
    std::string sql = "SELECT id, window_id, model, version, trigger, rule, metrics, created_at, "
                      "created_by FROM monitor_alerts WHERE 1 = 1";
    if (!model.empty())
        sql += " AND model = ?";
    if (!version.empty())
        sql += " AND version = ?";
    SB_ASSIGN_OR_RETURN(Statement stmt, db.prepare(sql + " ORDER BY id"));
    int index = 1;
    if (!model.empty())
        stmt.bind(index++, model);
    if (!version.empty())
        stmt.bind(index++, version);
    std::vector<MonitorAlertRecord> out;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        MonitorAlertRecord a;
        a.id = stmt.columnInt(0);
        a.windowId = stmt.columnInt(1);
        a.model = stmt.columnText(2);
        a.version = stmt.columnText(3);
        a.trigger = stmt.columnText(4);
        a.rule = stmt.columnText(5);
        a.metrics = detail::parseJsonText(stmt.columnText(6));
        a.createdAt = stmt.columnText(7);
        a.createdBy = stmt.columnText(8);
        out.push_back(std::move(a));
    }
    return out;
}

Result<FeedbackResult> MonitorRepository::applyFeedback(const std::vector<FeedbackLabel> &labels,
                                                        const std::string &source)
{
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    SB_ASSIGN_OR_RETURN(Statement update,
                        db.prepare("UPDATE monitor_predictions SET label = ? WHERE request_id = "
                                   "? AND row = ? RETURNING window_id"));
    FeedbackResult result;
    std::set<Id> touched;
    for (const auto &label : labels) {
        update.reset();
        update.bind(1, label.label).bind(2, label.requestId).bind(3, label.row);
        bool any = false;
        for (;;) {
            SB_ASSIGN_OR_RETURN(bool row, update.step());
            if (!row)
                break;
            any = true;
            touched.insert(update.columnInt(0));
        }
        any ? ++result.matched : ++result.unmatched;
    }
    SB_ASSIGN_OR_RETURN(
        Statement realized,
        db.prepare("SELECT COUNT(*), SUM(predicted = label) FROM "
                   "monitor_predictions WHERE window_id = ? AND label IS NOT NULL"));
    SB_ASSIGN_OR_RETURN(Statement store,
                        db.prepare("UPDATE monitor_windows SET realized_accuracy = ?, labelled = "
                                   "? WHERE id = ?"));
    for (Id windowId : touched) {
        realized.reset();
        realized.bind(1, windowId);
        SB_ASSIGN_OR_RETURN(bool row, realized.step());
        const std::int64_t count = row ? realized.columnInt(0) : 0;
        const std::int64_t correct = row ? realized.columnInt(1) : 0;
        store.reset();
        if (count > 0)
            store.bind(1, static_cast<double>(correct) / static_cast<double>(count));
        else
            store.bindNull(1);
        store.bind(2, count).bind(3, windowId);
        SB_TRY(store.run());
        SB_ASSIGN_OR_RETURN(MonitorWindowRecord window, windowById(db, windowId));
        result.windows.push_back(std::move(window));
    }
    Json windowIds = Json::array();
    for (Id id : touched)
        windowIds.push_back(id);
    SB_TRY(impl.appendAudit(
        "monitor.feedback", source,
        {{"matched", result.matched}, {"unmatched", result.unmatched}, {"windows", windowIds}}));
    SB_TRY(transaction.commit());
    return result;
}

} // namespace sb::store
