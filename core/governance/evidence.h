// The metrics evidence rules are evaluated against, derived from the latest
// stored results of a model version.
//
// Names (all numbers; booleans are 1/0):
//   has_evaluation, has_quality, has_drift, has_run  1 when such a result is stored
//   From the latest `eval` report (issue 5 format):
//     every number in overall.* under its own name: accuracy, balanced_accuracy,
//       precision_macro, recall_macro, f1_macro, f1_weighted, roc_auc,
//       average_precision, log_loss, brier, ece, mce (regression: mae, rmse, r2, mape)
//     calibration.*: the metrics metric_definitions.h marks as calibration keys: ece,
//       mce, adaptive_ece, temperature, ece_after_temperature, nll_before,
//       nll_after_temperature
//     eval_rows            report.rows
//     slice_count          number of user slices;  has_slices = slice_count > 0
//     min_slice_rows       smallest slice
//     worst_slice_<m>      for each metric m in slices[].metrics: the minimum, or the
//                          maximum for error-like metrics (lower is better in
//                          core/eval/metric_definitions.h: ece, mce, log_loss, brier,
//                          mae, rmse, mape); e.g. worst_slice_accuracy
//     weak_slices          number of auto_slices reported
//     gates_failed         number of gates[] with passed == false
//     has_calibration      1 when calibration.bins is non-empty
//   From the latest `quality` report:
//     pii_columns          columns whose `pii` list is non-empty
//     missing_share_max    largest columns[].missing_share
//     constant_columns     columns with constant == true
//     duplicate_rows, label_conflicts, leakage_share (leakage.share), quality_rows
//   From the latest drift snapshot:
//     share_drifted, dataset_drift, drifted_columns
//   From the latest `robustness` report (has_robustness):
//     every key of its summary, e.g. accuracy_drop_noise_0_1 (accuracy at
//     strength 0 minus accuracy under noise 0.1), roc_auc_drop_dropout_0_25,
//     accuracy_drop_shift_1 (worst feature); robustness_gates_failed
//   From the latest `poisoning` report, else the `poisoning` part of the
//   latest quality report (has_poisoning):
//     label_issue_share, suspicious_rows, suspicious_share (of rows),
//     knn_label_disagreements, duplicate_conflict_rows, poisoning_outliers
//   From the latest `privacy` report (has_privacy):
//     mia_auc, mia_advantage (larger of the loss and confidence attacks),
//     mia_auc_upper (upper CI bound of the larger AUC), worst_slice_mia_auc,
//     full_probabilities_exposed (1 when callers get the full vector)
#pragma once

#include "core/common/result.h"
#include "core/store/store.h"

#include <map>
#include <string>

namespace sb::governance {

using MetricMap = std::map<std::string, double>;

// Pure derivation (null JSON = that result is not stored).
MetricMap deriveMetrics(const store::Json &evaluation, const store::Json &quality,
                        const store::Json &drift, bool hasRun = false);

// Adds the robustness / poisoning / privacy figures (null JSON = not stored;
// `quality` is the quality report, whose `poisoning` part is the fallback).
void deriveRiskMetrics(const store::Json &robustness, const store::Json &poisoning,
                       const store::Json &privacy, const store::Json &quality, MetricMap &metrics);

// Loads the latest results of the version from the store and derives.
Result<MetricMap> metricsForVersion(store::Store &store, store::Id modelVersionId);

} // namespace sb::governance
