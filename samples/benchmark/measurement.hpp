// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Small measurement helpers of the benchmark: medians, a wall clock, process memory.
#ifndef ANOMALY_BENCHMARK_MEASUREMENT_HPP
#define ANOMALY_BENCHMARK_MEASUREMENT_HPP

#include <chrono>
#include <string>
#include <vector>

namespace anomaly_benchmark {

/** Median of the values (mean of the two middle ones for an even count); 0 for none. */
double median(std::vector<double> values);

/** Seconds since construction or the last restart(), from a monotonic clock. */
class Stopwatch
{
public:
    Stopwatch() : start_(Clock::now()) {}
    void restart() { start_ = Clock::now(); }
    double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

private:
    using Clock = std::chrono::steady_clock;
    Clock::time_point start_;
};

/** A "VmHWM"/"VmRSS"-style field of /proc/self/status in MiB; throws when it cannot be read. */
double procStatusMiB(const std::string& field);

}  // namespace anomaly_benchmark

#endif  // ANOMALY_BENCHMARK_MEASUREMENT_HPP
