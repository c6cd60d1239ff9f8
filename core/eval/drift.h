// Column drift between a reference and a current sample, with Evidently's
// default method selection ("profile") and every method selectable.
//
// Default profile (NaN/inf dropped first, n_ref = reference rows left):
//   n_ref <= 1000: numerical with > 5 unique values (union)  -> ks       (p <= 0.05)
//                  > 2 unique values or categorical > 2       -> chisquare (p < 0.05)
//                  otherwise                                  -> z        (p < 0.05)
//   n_ref  > 1000: numerical with > 5 unique values           -> wasserstein
//                  (normed by max(std_ref, 0.001), drift >= 0.1)
//                  otherwise                                  -> jensenshannon (>= 0.1)
// psi, kl_div (>= 0.1) and jensenshannon use histograms: numerical with > 20
// unique reference values -> numpy Sturges bins over the union; otherwise one
// bin per value; empty bins are filled (1e-4, or min_nonzero/1e6 when
// min_nonzero <= 1e-4).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace sb::eval {

enum class DriftMethod
{
    Auto,
    Ks,
    ChiSquare,
    ZTest,
    Wasserstein,
    JensenShannon,
    Psi,
    KlDiv
};

const char *driftMethodName(DriftMethod method); // "ks", "chisquare", "z", ...
// Accepts the names above plus a few aliases ("z_test", "kl", "js", "wasserstein_distance").
std::optional<DriftMethod> parseDriftMethod(const std::string &name);
double defaultDriftThreshold(DriftMethod method);

// One column's values on one side, NaN/inf already removed.
struct DriftSample
{
    bool numerical = true;
    std::vector<double> sorted; // numerical: ascending finite values
    // categorical: (label, count) sorted by label, counts > 0
    std::vector<std::pair<std::string, double>> categories;

    std::size_t size() const;
    static DriftSample fromNumbers(std::span<const double> values); // drops NaN/inf, sorts
};

struct DriftBins
{
    std::string kind;                // "sturges", "values" or "" (no histogram)
    std::vector<double> edges;       // sturges: bin edges (numpy.histogram_bin_edges)
    std::vector<std::string> values; // values: one label per bin
    std::vector<double> reference;   // shares per bin (after zero filling) or counts
    std::vector<double> current;
    bool shares = true; // false: reference/current hold counts (chisquare, z)
};

struct DriftColumnResult
{
    std::string name;
    std::string type; // "numerical" / "categorical"
    DriftMethod method = DriftMethod::Auto;
    std::string rule; // why this method was used, in words
    double statistic = 0.0;
    std::optional<double> pValue;
    double threshold = 0.0;
    bool drifted = false;
    DriftBins bins;
    std::size_t referenceRows = 0; // values used after dropping NaN/inf
    std::size_t currentRows = 0;
    std::string ksMode; // ks only: "exact" / "asymp" (and "asymp (exact failed)")
    std::string error;  // non-empty: the column could not be tested (diagnostic)
};

// Tests one column. `method` Auto applies the default profile; `threshold`
// overrides the method's default. Never fails: problems land in .error.
DriftColumnResult computeColumnDrift(const std::string &name, const DriftSample &reference,
                                     const DriftSample &current,
                                     DriftMethod method = DriftMethod::Auto,
                                     std::optional<double> threshold = std::nullopt);

// Dataset drift: share of drifted columns (among those tested) >= shareThreshold.
struct DriftSummary
{
    std::size_t testedColumns = 0;
    std::size_t driftedColumns = 0;
    double shareDrifted = 0.0;
    bool datasetDrift = false;
};
DriftSummary summarizeDrift(const std::vector<DriftColumnResult> &columns,
                            double shareThreshold = 0.5);

} // namespace sb::eval
