// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_video: inspects a video file or camera frame by frame, showing the overlay with the
// frame rate in a window when a display is available and writing it to a video file otherwise.
#include "command_line.hpp"
#include "inspection_overlay.hpp"
#include "progress_bar.hpp"
#include "tool_main.hpp"

#include <opencv2/anomaly.hpp>
#include <opencv2/highgui.hpp>
#include <opencv2/videoio.hpp>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

namespace {

namespace fs = std::filesystem;

bool isCameraIndex(const std::string& input)
{
    return !input.empty() && input.find_first_not_of("0123456789") == std::string::npos;
}

// A window can be opened only with an X11 or Wayland display and a highgui built with a GUI
// backend; both are checked, because headless OpenCV builds raise on the first window call.
bool openWindow(const std::string& title)
{
    const char* x11 = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    if ((!x11 || !*x11) && (!wayland || !*wayland))
        return false;
    try {
        cv::namedWindow(title, cv::WINDOW_AUTOSIZE);
        return true;
    } catch (const cv::Exception&) {
        return false;
    }
}

int fourccFor(const fs::path& path)
{
    const std::string extension = path.extension().string();
    if (extension == ".avi")
        return cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
    if (extension == ".mp4" || extension == ".m4v" || extension == ".mov")
        return cv::VideoWriter::fourcc('m', 'p', '4', 'v');
    throw std::runtime_error("output " + path.string() + " must end in .mp4, .mov or .avi");
}

// Writes to a temporary file with the same extension and renames it over the destination once
// complete, so a stopped run never leaves half a video under the requested name.
class AtomicVideoWriter
{
public:
    AtomicVideoWriter(fs::path path, double fps) : path_(std::move(path)), fps_(fps)
    {
        temporary_ = path_;
        temporary_.replace_filename(path_.stem().string() + ".tmp." + std::to_string(::getpid()) +
                                    path_.extension().string());
        fourcc_ = fourccFor(path_);
    }
    void write(const cv::Mat& frame)
    {
        if (!writer_.isOpened()) {
            if (!writer_.open(temporary_.string(), fourcc_, fps_, frame.size()))
                throw std::runtime_error("cannot open a video writer for " + path_.string());
            size_ = frame.size();
        }
        CV_Assert(frame.size() == size_);
        writer_.write(frame);
        ++frames_;
    }
    void finish()
    {
        writer_.release();
        if (frames_ == 0)
            throw std::runtime_error("no frame was read, nothing written");
        fs::rename(temporary_, path_);
    }
    ~AtomicVideoWriter()
    {
        if (writer_.isOpened()) {
            writer_.release();
            std::error_code ignored;
            fs::remove(temporary_, ignored);
        }
    }

private:
    fs::path path_, temporary_;
    double fps_;
    int fourcc_ = 0;
    cv::VideoWriter writer_;
    cv::Size size_;
    long frames_ = 0;
};

int run(const anomaly_samples::CommandLine& cli)
{
    const std::string input = cli.get("input");
    const int maxFrames = cli.getInt("max-frames", 0);

    cv::VideoCapture capture;
    if (isCameraIndex(input))
        capture.open(std::stoi(input));
    else
        capture.open(input);
    if (!capture.isOpened())
        throw std::runtime_error("cannot open video input " + input);

    auto detector = cv::anomaly::LocalGlobalFlow::create(cli.get("model"));
    const anomaly_samples::OverlayRenderer renderer(
        anomaly_samples::MapScale::fromModel(*detector));

    const std::string title = "anomaly_video (q or Esc to quit)";
    const bool window = cli.get("no-window") != "1" && openWindow(title);
    std::string outPath = cli.get("out");
    if (outPath.empty() && !window)
        outPath = "anomaly_video.mp4";
    const double inputFps = capture.get(cv::CAP_PROP_FPS);
    std::unique_ptr<AtomicVideoWriter> writer;
    if (!outPath.empty())
        writer = std::make_unique<AtomicVideoWriter>(outPath, inputFps > 0 ? inputFps : 10.0);

    long total = static_cast<long>(capture.get(cv::CAP_PROP_FRAME_COUNT));
    if (maxFrames > 0 && (total <= 0 || total > maxFrames))
        total = maxFrames;
    std::unique_ptr<anomaly_samples::ProgressBar> bar;
    if (!window && total > 0)
        bar = std::make_unique<anomaly_samples::ProgressBar>("anomaly_video", total, "frame");

    // Frame rate of the whole loop (read, detect, draw), smoothed so the number is readable.
    double fps = 0;
    long frames = 0, ngFrames = 0;
    cv::Mat frame;
    auto last = std::chrono::steady_clock::now();
    while ((maxFrames == 0 || frames < maxFrames) && capture.read(frame) && !frame.empty()) {
        cv::anomaly::AnomalyResult result;
        detector->detect(frame, result);
        ngFrames += result.isAnomalous ? 1 : 0;
        const auto now = std::chrono::steady_clock::now();
        const double seconds = std::chrono::duration<double>(now - last).count();
        last = now;
        if (seconds > 0)
            fps = frames == 0 ? 1.0 / seconds : 0.9 * fps + 0.1 / seconds;
        char caption[64];
        std::snprintf(caption, sizeof(caption), "%.1f FPS   frame %ld", fps, frames + 1);
        const cv::Mat overlay = renderer.render(frame, result, caption);
        if (writer)
            writer->write(overlay);
        ++frames;
        if (bar)
            bar->update(frames);
        if (window) {
            cv::imshow(title, overlay);
            const int key = cv::waitKey(1) & 0xFF;
            if (key == 'q' || key == 27)
                break;
        }
    }
    bar.reset();
    if (writer)
        writer->finish();
    std::printf("%ld frames, %ld NG, %.1f FPS%s%s\n", frames, ngFrames, fps,
                writer ? ", video " : "", writer ? outPath.c_str() : "");
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    anomaly_samples::CommandLine cli(
        "anomaly_video",
        "inspects a video file or camera: live overlay window when a display exists, else an "
        "output video",
        {{"model", "", "model file (.onnx) written by anomaly_train", true},
         {"input", "", "video file, or camera index such as 0", true},
         {"out", "",
          "video to write (.mp4, .mov or .avi); default anomaly_video.mp4 without a display"},
         {"max-frames", "0", "stop after this many frames (0: until the input ends)"},
         {"no-window", "", "never open a window, even when a display exists", false, true}});
    return anomaly_samples::runTool(cli, argc, argv, run);
}
