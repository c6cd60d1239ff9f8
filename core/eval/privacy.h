// Membership-inference risk and model-inversion exposure of a classifier,
// from its class probabilities on training rows (members) and on held-out
// rows (non-members). The result is the JSON object
// `shardbench-cli privacy --json` prints.
//
// Attacks (higher attack score = "member"):
//  - loss_threshold (Yeom, Giacomelli, Fredrikson & Jha 2018): score = -loss,
//    loss = -ln(max(p_y, DBL_EPSILON)) of the true label y;
//  - confidence_threshold: score = the top-class probability max_k p_k.
// Per attack: ROC AUC (scikit-learn roc_auc_score on membership 1/0 against
// the score), the attacker's advantage max(TPR - FPR) over every threshold of
// roc_curve (Yeom et al.'s membership advantage at the best threshold), that
// threshold's TPR/FPR, percentile bootstrap intervals (rows of both sets
// resampled together), and the ROC curve (at most 201 points, for charts).
// mia_auc / mia_advantage = the larger over the two attacks. The same per
// slice ("NAME: EXPR", evaluated on both files). A probability that is
// missing (top-k output) counts as 0.
//
// Model-inversion exposure is not an attack we run: the report states what a
// caller receives (full vector, top-k or label only; the number format and
// the decimals actually present) and what that means.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/csv.h"
#include "core/eval/predict.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace sb::eval {

// The scores of one set of rows.
struct MembershipScores
{
    const Table *table = nullptr; // for slices and error messages
    std::vector<std::string> classes;
    std::vector<double> proba; // rows x classes, NaN = not returned (top-k)
    std::vector<int> label;    // class index per row, -1 = row left out
    std::string origin;        // "model output 'probabilities' float32" or "columns P*"
    bool float32 = false;      // the values are float32 model outputs
    std::size_t rows() const { return label.size(); }
};

// From a model's predictions on `table` (labels from column `label`).
Result<MembershipScores> membershipFromPredictions(const Table &table, const Predictions &pred,
                                                   const std::string &label);
// From probability columns PREFIX<class> of `table`.
Result<MembershipScores> membershipFromColumns(const Table &table, const std::string &probaPrefix,
                                               const std::string &label);

struct PrivacyOptions
{
    int bootstrap = 1000;
    std::uint64_t seed = 20240611;
    double confidence = 0.95;
    std::vector<std::string> slices;
    unsigned threads = 0;
};

Result<nlohmann::json> membershipInference(const MembershipScores &members,
                                           const MembershipScores &nonMembers,
                                           const PrivacyOptions &options = {},
                                           const CancelToken *cancel = nullptr);

} // namespace sb::eval
