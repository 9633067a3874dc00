// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_synth: writes a deterministic synthetic inspection dataset in MVTec AD layout.
#include "command_line.hpp"
#include "dataset_writer.hpp"
#include "progress_bar.hpp"
#include "tool_main.hpp"

#include <filesystem>
#include <iostream>
#include <memory>

namespace {

namespace fs = std::filesystem;
using anomaly_samples::CommandLine;
using anomaly_samples::UsageError;

// Refuses to mix a new dataset into an old one: leftover images from a run with larger counts
// would silently join the new set.
void prepareRoot(const fs::path& root, bool overwrite)
{
    if (!fs::exists(root))
        return;
    if (!fs::is_directory(root))
        throw UsageError(root.string() + " exists and is not a folder");
    if (fs::is_empty(root))
        return;
    if (!overwrite)
        throw UsageError(root.string() + " is not empty (use --overwrite to replace the dataset)");
    for (const char* part : {"train", "test", "ground_truth"})
        fs::remove_all(root / part);
}

int run(const CommandLine& cli)
{
    anomaly_synth::DatasetOptions options;
    options.root = cli.get("out");
    try {
        options.surface = anomaly_synth::surfaceFromName(cli.get("surface"));
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    const int seed = cli.getInt("seed");
    if (seed < 0)
        throw UsageError("--seed must be >= 0");
    options.seed = static_cast<uint64_t>(seed);
    options.trainGood = cli.getInt("train");
    options.testGood = cli.getInt("test-good");
    options.testPerDefect = cli.getInt("test-defect");
    options.size = cli.getInt("size");
    if (options.trainGood < 1 || options.testGood < 0 || options.testPerDefect < 0)
        throw UsageError("--train must be >= 1, --test-good and --test-defect >= 0");
    if (options.size < 64 || options.size > 4096)
        throw UsageError("--size must be between 64 and 4096");
    prepareRoot(options.root, cli.get("overwrite") == "1");

    std::unique_ptr<anomaly_samples::ProgressBar> bar;
    anomaly_synth::writeDataset(options, [&](long done, long total) {
        if (!bar)
            bar = std::make_unique<anomaly_samples::ProgressBar>("anomaly_synth", total);
        bar->update(done);
    });
    bar.reset();
    const int defects =
        options.testPerDefect * static_cast<int>(anomaly_synth::allDefectTypes().size());
    std::cout << "wrote " << options.trainGood << " train, " << options.testGood
              << " good test and " << defects << " defective test images ("
              << anomaly_synth::surfaceName(options.surface) << ", " << options.size << "x"
              << options.size << ") to " << options.root << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    CommandLine cli(
        "anomaly_synth",
        "writes a synthetic inspection dataset (textured surface; scratches, spots, cracks, "
        "missing material with exact masks) in MVTec AD layout",
        {{"out", "", "dataset root to create (train/, test/, ground_truth/)", true},
         {"surface", "brushed_metal", "brushed_metal, woven_fabric or grainy_plastic"},
         {"seed", "7", "random seed; the same seed gives byte-identical files"},
         {"train", "200", "defect-free training images"},
         {"test-good", "40", "defect-free test images"},
         {"test-defect", "20", "test images per defect type"},
         {"size", "256", "image width and height in pixels"},
         {"overwrite", "", "replace the train/test/ground_truth folders of an existing dataset",
          false, true}});
    return anomaly_samples::runTool(cli, argc, argv, run);
}
