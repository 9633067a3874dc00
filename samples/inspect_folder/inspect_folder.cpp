// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_inspect_folder: scores every image under a folder, writes a CSV and optional overlays,
// and prints an OK/NG summary. Exit code: 0 all OK, 2 at least one NG, 1 on any error.
#include "command_line.hpp"
#include "csv_field.hpp"
#include "inspection_overlay.hpp"
#include "output_file.hpp"
#include "progress_bar.hpp"
#include "tool_main.hpp"

#include <opencv2/anomaly.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

namespace {

using anomaly_samples::csvField;

namespace fs = std::filesystem;

bool isImageFile(const fs::path& path)
{
    static const std::set<std::string> kExtensions = {".png",  ".jpg", ".jpeg", ".bmp", ".tif",
                                                      ".tiff", ".pgm", ".ppm",  ".webp"};
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return kExtensions.count(extension) != 0;
}

// Image files under a folder and its subfolders, as paths relative to it, in name order so that
// the CSV is the same from run to run. Skips the overlay folder when it lies inside.
std::vector<fs::path> listImages(const fs::path& root, const std::optional<fs::path>& skip)
{
    if (!fs::is_directory(root))
        throw std::runtime_error("folder " + root.string() + " does not exist");
    std::vector<fs::path> images;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
        if (skip && it->is_directory() && fs::equivalent(it->path(), *skip)) {
            it.disable_recursion_pending();
            continue;
        }
        // Lexically: fs::relative resolves symbolic links, so a linked image would name its
        // target's folder ("../../data/x.jpg") and its overlay would land beside the original.
        if (it->is_regular_file() && isImageFile(it->path()))
            images.push_back(it->path().lexically_relative(root));
    }
    std::sort(images.begin(), images.end());
    return images;
}

struct Tally
{
    int ok = 0;
    int ng = 0;
    int errors = 0;
    double totalMs = 0;
    std::vector<std::string> ngFiles;
    std::vector<std::string> errorLines;
};

int run(const anomaly_samples::CommandLine& cli)
{
    const fs::path root = cli.get("dir");
    std::optional<fs::path> overlayDir;
    if (cli.has("overlays")) {
        overlayDir = fs::path(cli.get("overlays"));
        fs::create_directories(*overlayDir);
    }
    const std::vector<fs::path> images = listImages(root, overlayDir);
    if (images.empty())
        throw std::runtime_error("no images (.png, .jpg, .bmp, .tif, ...) under " + root.string());

    auto detector = cv::anomaly::LocalGlobalFlow::create(cli.get("model"));
    const anomaly_samples::OverlayRenderer renderer(
        anomaly_samples::MapScale::fromModel(*detector));

    std::ostringstream csv;
    csv << "file,score,normalized_score,label,regions,ms\n";
    Tally tally;
    {
        anomaly_samples::ProgressBar bar("inspecting", static_cast<long>(images.size()));
        for (size_t i = 0; i < images.size(); ++i) {
            const std::string name = images[i].generic_string();
            try {
                const cv::Mat image = cv::imread((root / images[i]).string(), cv::IMREAD_UNCHANGED);
                if (image.empty())
                    throw std::runtime_error("cannot read the image");
                cv::anomaly::AnomalyResult result;
                const auto start = std::chrono::steady_clock::now();
                detector->detect(image, result);
                const double ms = std::chrono::duration<double, std::milli>(
                                      std::chrono::steady_clock::now() - start)
                                      .count();
                tally.totalMs += ms;
                (result.isAnomalous ? tally.ng : tally.ok) += 1;
                if (result.isAnomalous)
                    tally.ngFiles.push_back(name);
                char row[160];
                std::snprintf(row, sizeof(row), ",%.6g,%.4f,%s,%zu,%.1f\n", result.score,
                              result.normalizedScore, result.isAnomalous ? "NG" : "OK",
                              result.regions.size(), ms);
                csv << csvField(name) << row;
                if (overlayDir) {
                    fs::path target = *overlayDir / images[i];
                    target.replace_extension(".png");
                    fs::create_directories(target.parent_path());
                    anomaly_samples::writeImageAtomically(target.string(),
                                                          renderer.render(image, result, name));
                }
            } catch (const cv::Exception& e) {
                ++tally.errors;
                tally.errorLines.push_back(name + ": " + e.err);
                csv << csvField(name) << ",,,error,,\n";
            } catch (const std::exception& e) {
                ++tally.errors;
                tally.errorLines.push_back(name + ": " + e.what());
                csv << csvField(name) << ",,,error,,\n";
            }
            bar.update(static_cast<long>(i + 1));
        }
    }
    anomaly_samples::writeTextAtomically(cli.get("csv"), csv.str());

    const int scored = tally.ok + tally.ng;
    std::printf("inspected %zu images: %d OK, %d NG", images.size(), tally.ok, tally.ng);
    if (tally.errors)
        std::printf(", %d errors", tally.errors);
    if (scored)
        std::printf("  (%.1f ms per image)", tally.totalMs / scored);
    std::printf("\n");
    for (size_t i = 0; i < tally.ngFiles.size() && i < 10; ++i)
        std::printf("  NG  %s\n", tally.ngFiles[i].c_str());
    if (tally.ngFiles.size() > 10)
        std::printf("  ... and %zu more NG (see the CSV)\n", tally.ngFiles.size() - 10);
    std::printf("CSV: %s\n", cli.get("csv").c_str());
    if (overlayDir)
        std::printf("overlays: %s\n", overlayDir->string().c_str());
    for (const std::string& line : tally.errorLines)
        std::fprintf(stderr, "anomaly_inspect_folder: error: %s\n", line.c_str());
    if (tally.errors)
        return 1;
    return tally.ng > 0 ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv)
{
    anomaly_samples::CommandLine cli(
        "anomaly_inspect_folder",
        "scores every image under a folder (recursively); exit 0 = all OK, 2 = NG found, 1 = error",
        {{"model", "", "model file (.onnx) written by anomaly_train", true},
         {"dir", "", "folder of images to inspect", true},
         {"csv", "", "CSV to write: file,score,normalized_score,label,regions,ms", true},
         {"overlays", "", "folder to write one overlay PNG per image into (optional)"}});
    // Exit code 2 already means "NG found" to scripts: a mistyped option must not read as one.
    return anomaly_samples::runTool(cli, argc, argv, run, anomaly_samples::kExitFailure);
}
