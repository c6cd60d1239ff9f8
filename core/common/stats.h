// The one percentile definition every run, bench, serve and GUI figure uses.
#pragma once

#include <vector>

namespace sb {

// Percentile `p` (in [0, 100]) of unsorted samples, by linear interpolation
// between the closest ranks: position p/100 * (n - 1) in the sorted samples.
// This is NumPy's default (`numpy.percentile(..., method="linear")`,
// Hyndman & Fan type 7), so figures can be checked against NumPy directly.
// Returns 0 for no samples; p outside [0, 100] is clamped.
[[nodiscard]] double percentile(std::vector<double> samples, double p);

} // namespace sb

namespace sb {

// What this process has used so far (all its threads): CPU time (user +
// system) and context switches. Differences of two readings tell what a
// stretch of work cost, independent of how busy the machine is.
struct ProcessUsage
{
    double cpuMs = 0;
    long voluntarySwitches = 0;   // a thread blocked (waits, sleeps)
    long involuntarySwitches = 0; // a thread was preempted
    ProcessUsage operator-(const ProcessUsage &earlier) const
    {
        return {cpuMs - earlier.cpuMs, voluntarySwitches - earlier.voluntarySwitches,
                involuntarySwitches - earlier.involuntarySwitches};
    }
};
[[nodiscard]] ProcessUsage processUsage();

} // namespace sb
