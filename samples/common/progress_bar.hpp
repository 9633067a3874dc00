// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Console progress bar with rate and ETA, shared by the sample programs.
#ifndef ANOMALY_SAMPLES_PROGRESS_BAR_HPP
#define ANOMALY_SAMPLES_PROGRESS_BAR_HPP

#include <chrono>
#include <cstdio>
#include <string>

namespace anomaly_samples {

/** @brief Draws "label [#####.....] 45/320  12.3 img/s  ETA 0:22  <status>" on one line of a stream
(stderr by default), at most ten times a second, and a final line with the total time. When the
stream is not a terminal (a log file, a pipe) it prints a full line every five seconds instead, so
logs are not flooded with carriage returns. */
class ProgressBar
{
public:
    ProgressBar(std::string label, long total, std::string unit = "img", FILE* stream = stderr);

    /** @brief Sets the number of finished items and redraws when due. */
    void update(long done);
    /** @brief Sets the number of finished items and a short status shown after the ETA (e.g.
    "epoch 2/8 loss 0.41"); redraws when due. */
    void update(long done, const std::string& status);
    /** @brief Draws the final state and ends the line. Called by the destructor if not before. */
    void finish();
    ~ProgressBar();

    /** @brief Seconds since the bar was created. */
    double elapsedSeconds() const;

    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

private:
    void draw(bool final);

    using Clock = std::chrono::steady_clock;
    std::string label_;
    long total_;
    std::string unit_;
    std::string status_;
    FILE* stream_;
    long done_ = 0;
    bool finished_ = false;
    bool interactive_ = false;
    Clock::time_point start_;
    Clock::time_point lastDraw_;
};

/** @brief Formats seconds as "m:ss" or "h:mm:ss". */
std::string formatDuration(double seconds);

}  // namespace anomaly_samples

#endif  // ANOMALY_SAMPLES_PROGRESS_BAR_HPP
