// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "progress_bar.hpp"

#include <unistd.h>
#include <algorithm>

namespace anomaly_samples {

std::string formatDuration(double seconds)
{
    const long total = std::max(0L, static_cast<long>(seconds + 0.5));
    char text[32];
    if (total >= 3600)
        std::snprintf(text, sizeof(text), "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60,
                      total % 60);
    else
        std::snprintf(text, sizeof(text), "%ld:%02ld", total / 60, total % 60);
    return text;
}

ProgressBar::ProgressBar(std::string label, long total, std::string unit, FILE* stream)
    : label_(std::move(label)),
      total_(std::max(0L, total)),
      unit_(std::move(unit)),
      stream_(stream),
      interactive_(::isatty(::fileno(stream)) != 0),
      start_(Clock::now()),
      lastDraw_(start_)
{
    if (interactive_)
        draw(false);
}

ProgressBar::~ProgressBar()
{
    finish();
}

void ProgressBar::update(long done)
{
    done_ = std::min(std::max(0L, done), total_);
    const auto now = Clock::now();
    const auto interval = interactive_ ? std::chrono::milliseconds(100) : std::chrono::seconds(5);
    if (now - lastDraw_ >= interval || (interactive_ && done_ == total_)) {
        lastDraw_ = now;
        draw(false);
    }
}

void ProgressBar::update(long done, const std::string& status)
{
    status_ = status;
    update(done);
}

double ProgressBar::elapsedSeconds() const
{
    return std::chrono::duration<double>(Clock::now() - start_).count();
}

void ProgressBar::finish()
{
    if (finished_)
        return;
    finished_ = true;
    draw(true);
}

void ProgressBar::draw(bool final)
{
    constexpr int kWidth = 30;
    const double elapsed = elapsedSeconds();
    const double fraction = total_ > 0 ? static_cast<double>(done_) / total_ : 1.0;
    const int filled = static_cast<int>(fraction * kWidth + 0.5);
    const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
    const double rate = elapsed > 0 ? done_ / elapsed : 0.0;

    std::string timing;
    if (final) {
        timing = "took " + formatDuration(elapsed);
    } else if (done_ > 0 && rate > 0) {
        timing = "ETA " + formatDuration((total_ - done_) / rate);
    } else {
        timing = "ETA --:--";
    }
    // On a terminal the line is redrawn in place; elsewhere every state gets its own line.
    const bool endLine = final || !interactive_;
    if (!status_.empty())
        timing += "  " + status_;
    // "\033[K" clears what a longer previous status left at the end of the line.
    std::fprintf(stream_, "%s%s [%s] %ld/%ld  %.1f %s/s  %s%s%s", interactive_ ? "\r" : "",
                 label_.c_str(), bar.c_str(), done_, total_, rate, unit_.c_str(), timing.c_str(),
                 interactive_ ? "\033[K" : "", endLine ? "\n" : "   ");
    std::fflush(stream_);
}

}  // namespace anomaly_samples
