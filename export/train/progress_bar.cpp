// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "progress_bar.hpp"

#include <cstdio>

namespace anomaly_train {

ProgressBar::ProgressBar(std::string label, long long total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total > 0 ? total : 1),
      start_(std::chrono::steady_clock::now()),
      lastDraw_(start_)
{
}

double ProgressBar::elapsedSeconds() const
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(long long done, const std::string& status)
{
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && done < total_ && now - lastDraw_ < std::chrono::milliseconds(100))
        return;
    lastDraw_ = now;
    drawn_ = true;
    const double elapsed = elapsedSeconds();
    const double rate = elapsed > 0 ? double(done) / elapsed : 0.0;
    const double eta = rate > 0 ? double(total_ - done) / rate : 0.0;
    const int width = 24;
    const int filled = int(double(width) * double(done) / double(total_));
    std::string bar(size_t(filled), '#');
    bar.resize(size_t(width), '.');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %.1f %s/s ETA %02d:%02d %s\033[K", label_.c_str(),
                 bar.c_str(), done, total_, rate, unit_.c_str(), int(eta) / 60, int(eta) % 60,
                 status.c_str());
    std::fflush(stderr);
}

void ProgressBar::finish()
{
    if (drawn_)
        std::fprintf(stderr, "\n");
    drawn_ = false;
}

}  // namespace anomaly_train
