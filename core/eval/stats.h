// Statistical tests and distances used by drift detection, reproducing the
// numerics of Debian's scipy 1.10 / numpy 1.24 (the references users trust).
//
// Contract: all functions are pure, thread-safe and never throw. Inputs are
// finite doubles unless stated (callers drop NaN/inf first). Functions taking
// "sorted" spans require ascending order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sb::eval {

// ---- special functions --------------------------------------------------
// Regularised lower / upper incomplete gamma P(a, x), Q(a, x) (a > 0, x >= 0).
double regularizedGammaP(double a, double x);
double regularizedGammaQ(double a, double x);
// Survival function of the chi-square distribution with df degrees of freedom.
double chiSquareSf(double statistic, double df);
// Two-sided normal p-value 2 * P(Z > |z|), computed with erfc (no cancellation).
double normalTwoSidedP(double z);

// ---- Kolmogorov-Smirnov ---------------------------------------------------
// scipy.special.smirnov(n, d): one-sided exact Smirnov survival function.
double smirnovSf(int n, double d);
// scipy.special.kolmogorov(x): survival function of the limiting distribution.
double kolmogorovSf(double x);
// scipy.stats.kstwo.sf(d, n): exact two-sided one-sample KS survival function
// (Simard & L'Ecuyer selection of Durbin/MTW, Pomeranz, Pelz-Good, Smirnov).
double kolmogorovTwoSidedSf(int n, double d);

enum class KsMethod
{
    Exact,
    Asymptotic
};

struct KsResult
{
    double statistic = 0.0;
    double pValue = 1.0;
    KsMethod method = KsMethod::Exact;
    bool exactFellBack = false; // an exact attempt failed and the asymptotic value is used
};

// scipy.stats.ks_2samp(a, b, alternative='two-sided', method='auto') on sorted
// samples (both non-empty): exact p when max(n1, n2) <= 10000, else asymptotic
// (kstwo.sf(d, round(n1*n2/(n1+n2)))), falling back like scipy.
KsResult ksTwoSample(std::span<const double> sortedA, std::span<const double> sortedB);

// ---- distances -------------------------------------------------------------
// scipy.stats.wasserstein_distance (unweighted) on sorted samples.
double wassersteinSorted(std::span<const double> sortedA, std::span<const double> sortedB);
// Population standard deviation (numpy.std, ddof 0).
double populationStd(std::span<const double> values);

// numpy.histogram_bin_edges(concat(a, b), bins='sturges') given the union's
// min, max and size.
std::vector<double> sturgesEdges(double minValue, double maxValue, std::size_t count);
// numpy.histogram counts of sorted values against edges ([e_i, e_i+1), last closed).
std::vector<double> histogramSorted(std::span<const double> sortedValues,
                                    std::span<const double> edges);

// Evidently's zero filling: zero shares become min_nonzero/1e6 when
// min_nonzero <= 1e-4, else 1e-4.
void fillZeroShares(std::vector<double> &shares);

double psi(std::span<const double> reference, std::span<const double> current);
// scipy.stats.entropy(reference, current): KL(ref || cur) after normalising both.
double klDivergence(std::span<const double> reference, std::span<const double> current);
// scipy.spatial.distance.jensenshannon(reference, current) (natural log).
double jensenShannonDistance(std::span<const double> reference, std::span<const double> current);

struct ChiSquareResult
{
    double statistic = 0.0;
    double pValue = 1.0;
    double df = 0.0;
};
// scipy.stats.chisquare(observed, expected).
ChiSquareResult chiSquareGoodnessOfFit(std::span<const double> observed,
                                       std::span<const double> expected);

struct ZTestResult
{
    double statistic = 0.0;
    double pValue = 1.0;
};
// Evidently's two-proportion z-test: successes1 of n1 vs successes2 of n2,
// pooled proportion, two-sided normal p-value.
ZTestResult twoProportionZTest(double successes1, double n1, double successes2, double n2);

} // namespace sb::eval
