// Schema history. Never edit a released step: add a new one. Each step runs
// in its own BEGIN IMMEDIATE transaction together with its user_version bump.
#include "core/store/store_impl.h"

#include <array>
#include <string_view>

namespace sb::store::detail {

namespace {

// v1: the registry, datasets, plans, runs, evaluation reports and the
// append-only audit log (what the first release stored).
constexpr std::string_view kSchemaV1 = R"SQL(
CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE TABLE model_versions (
  id INTEGER PRIMARY KEY,
  model_id INTEGER NOT NULL REFERENCES models(id),
  version INTEGER NOT NULL,
  file_path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  producer TEXT NOT NULL DEFAULT '',
  opsets TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (model_id, version)
);
CREATE INDEX model_versions_sha256 ON model_versions(sha256);
CREATE TABLE datasets (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  row_count INTEGER NOT NULL DEFAULT -1,
  schema TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (path, sha256)
);
CREATE TABLE plans (
  id INTEGER PRIMARY KEY,
  model_version_id INTEGER REFERENCES model_versions(id),
  name TEXT NOT NULL DEFAULT '',
  path TEXT NOT NULL DEFAULT '',
  plan TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  model_version_id INTEGER REFERENCES model_versions(id),
  plan_id INTEGER REFERENCES plans(id),
  status TEXT NOT NULL,
  config TEXT NOT NULL DEFAULT '{}',
  timings TEXT NOT NULL DEFAULT '{}',
  metrics TEXT NOT NULL DEFAULT '{}',
  trace_path TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL
);
CREATE TABLE evaluations (
  id INTEGER PRIMARY KEY,
  model_version_id INTEGER REFERENCES model_versions(id),
  dataset_id INTEGER REFERENCES datasets(id),
  kind TEXT NOT NULL,
  report TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;
)SQL";

// v2: governance. Checklists instantiated per model version, their items and
// sign-offs, deployments per environment; registry entries gain notes.
constexpr std::string_view kSchemaV2 = R"SQL(
ALTER TABLE model_versions ADD COLUMN notes TEXT NOT NULL DEFAULT '';
CREATE TABLE checklists (
  id INTEGER PRIMARY KEY,
  model_version_id INTEGER NOT NULL REFERENCES model_versions(id),
  template_id TEXT NOT NULL,
  title TEXT NOT NULL,
  template TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (model_version_id, template_id)
);
CREATE TABLE checklist_items (
  id INTEGER PRIMARY KEY,
  checklist_id INTEGER NOT NULL REFERENCES checklists(id),
  item_id TEXT NOT NULL,
  section TEXT NOT NULL DEFAULT '',
  text TEXT NOT NULL,
  required INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('manual', 'evidence')),
  rule TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'open',
  evidence TEXT NOT NULL DEFAULT '{}',
  updated_at TEXT NOT NULL,
  UNIQUE (checklist_id, item_id)
);
CREATE TABLE signoffs (
  id INTEGER PRIMARY KEY,
  checklist_item_id INTEGER NOT NULL REFERENCES checklist_items(id),
  reviewer TEXT NOT NULL,
  role TEXT NOT NULL DEFAULT '',
  decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'needs_work')),
  comment TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE TABLE deployments (
  id INTEGER PRIMARY KEY,
  model_id INTEGER NOT NULL REFERENCES models(id),
  model_version_id INTEGER NOT NULL REFERENCES model_versions(id),
  env TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('promote', 'rollback')),
  prior_entry_id INTEGER REFERENCES deployments(id),
  comment TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX deployments_model_env ON deployments(model_id, env, id);
)SQL";

// v3: drift monitoring. Drift snapshots get their own table (queried by
// share/flag over time, not as opaque reports), and evaluation lookups by
// (version, kind) get an index now that reports accumulate.
constexpr std::string_view kSchemaV3 = R"SQL(
CREATE TABLE drift_snapshots (
  id INTEGER PRIMARY KEY,
  model_version_id INTEGER REFERENCES model_versions(id),
  dataset_id INTEGER REFERENCES datasets(id),
  report TEXT NOT NULL,
  share_drifted REAL NOT NULL,
  dataset_drift INTEGER NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX drift_snapshots_version ON drift_snapshots(model_version_id, id);
CREATE INDEX evaluations_version_kind ON evaluations(model_version_id, kind, id);
)SQL";

// v4: online monitoring of served models. Windows of requests with their
// drift and estimated/realized accuracy, the predictions made (labels arrive
// later through `feedback`) and the alerts raised by trigger rules.
constexpr std::string_view kSchemaV4 = R"SQL(
CREATE TABLE monitor_windows (
  id INTEGER PRIMARY KEY,
  model_version_id INTEGER REFERENCES model_versions(id),
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  env TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL,
  ended_at TEXT NOT NULL,
  requests INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  failures INTEGER NOT NULL,
  error_rate REAL NOT NULL,
  share_drifted REAL,
  dataset_drift INTEGER NOT NULL DEFAULT 0,
  estimated_accuracy REAL,
  realized_accuracy REAL,
  labelled INTEGER NOT NULL DEFAULT 0,
  report TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);
CREATE INDEX monitor_windows_model ON monitor_windows(model, version, id);
CREATE TABLE monitor_predictions (
  id INTEGER PRIMARY KEY,
  window_id INTEGER NOT NULL REFERENCES monitor_windows(id),
  request_id TEXT NOT NULL,
  row INTEGER NOT NULL,
  predicted TEXT NOT NULL,
  confidence REAL NOT NULL,
  label TEXT
);
CREATE INDEX monitor_predictions_request ON monitor_predictions(request_id, row);
CREATE INDEX monitor_predictions_window ON monitor_predictions(window_id);
CREATE TABLE monitor_alerts (
  id INTEGER PRIMARY KEY,
  window_id INTEGER NOT NULL REFERENCES monitor_windows(id),
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  trigger TEXT NOT NULL,
  rule TEXT NOT NULL,
  metrics TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX monitor_alerts_model ON monitor_alerts(model, version, id);
)SQL";

constexpr std::array<std::string_view, 4> kMigrations{kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4};

} // namespace

int migrationCount()
{
    return static_cast<int>(kMigrations.size());
}

Status applyMigrations(Database &db, int fromVersion, int toVersion)
{
    for (int version = fromVersion; version < toVersion; ++version) {
        SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
        // Another process may have migrated while we waited for the lock.
        SB_ASSIGN_OR_RETURN(std::int64_t current, db.queryInt("PRAGMA user_version"));
        if (current > version) {
            SB_TRY(transaction.commit());
            version = static_cast<int>(current) - 1;
            continue;
        }
        Status status = db.exec(kMigrations[static_cast<std::size_t>(version)]);
        if (!status.ok())
            return status.error().withContext("migration to schema v" +
                                              std::to_string(version + 1));
        SB_TRY(db.exec("PRAGMA user_version = " + std::to_string(version + 1)));
        SB_TRY(transaction.commit());
    }
    return Status::success();
}

} // namespace sb::store::detail
