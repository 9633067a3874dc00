// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// One-line progress bar on stderr: done/total, rate, ETA and a caller-supplied status.
#ifndef ANOMALY_TRAIN_PROGRESS_BAR_HPP
#define ANOMALY_TRAIN_PROGRESS_BAR_HPP

#include <chrono>
#include <string>

namespace anomaly_train {

class ProgressBar
{
public:
    ProgressBar(std::string label, long long total, std::string unit);
    /** Redraws (at most ~10 times a second, and always at the end). */
    void update(long long done, const std::string& status = "");
    /** Ends the line. */
    void finish();
    double elapsedSeconds() const;

private:
    std::string label_, unit_;
    long long total_;
    std::chrono::steady_clock::time_point start_, lastDraw_;
    bool drawn_ = false;
};

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_PROGRESS_BAR_HPP
