// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "dataset_writer.hpp"

#include "output_file.hpp"

#include <opencv2/core/utility.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace anomaly_synth {
namespace {

namespace fs = std::filesystem;

// SplitMix64 finaliser: spreads nearby inputs over the whole 64-bit range.
uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

struct Job
{
    Split split;
    int defectIndex;  // into allDefectTypes(); -1 for good images
    int imageIndex;
    fs::path imagePath;
    fs::path maskPath;  // empty for good images
};

void runJob(const DatasetOptions& options, const Job& job)
{
    const uint64_t seed = imageSeed(options.seed, job.split, job.defectIndex, job.imageIndex);
    const cv::Mat clean = renderSurface(options.surface, options.size, seed);
    if (job.defectIndex < 0) {
        anomaly_samples::writeImageAtomically(job.imagePath, toBgr8(clean));
        return;
    }
    const DefectType type = allDefectTypes()[job.defectIndex];
    const DefectLayer layer = makeDefect(type, options.surface, clean, seed ^ 1u);
    cv::Mat defective, mask;
    applyDefect(clean, layer, defective, mask);
    anomaly_samples::writeImageAtomically(job.imagePath, toBgr8(defective));
    anomaly_samples::writeImageAtomically(job.maskPath, mask);
}

}  // namespace

uint64_t imageSeed(uint64_t datasetSeed, Split split, int defectIndex, int imageIndex)
{
    uint64_t h = mix(datasetSeed);
    h = mix(h ^ static_cast<uint64_t>(split));
    h = mix(h ^ static_cast<uint64_t>(defectIndex + 1));
    h = mix(h ^ static_cast<uint64_t>(imageIndex));
    // cv::RNG treats 0 as a request for its default state; avoid the collision.
    return h == 0 ? 1 : h;
}

std::string imageStem(int index)
{
    char name[32];
    std::snprintf(name, sizeof(name), "%03d", index);
    return name;
}

void writeDataset(const DatasetOptions& options,
                  const std::function<void(long done, long total)>& progress)
{
    if (options.trainGood < 1 || options.testGood < 0 || options.testPerDefect < 0)
        throw std::invalid_argument("image counts must be >= 0 (and --train >= 1)");
    const fs::path root(options.root);
    std::vector<Job> jobs;
    auto folder = [&](const fs::path& dir) {
        std::error_code error;
        fs::create_directories(dir, error);
        if (error)
            throw std::runtime_error("cannot create " + dir.string() + ": " + error.message());
        return dir;
    };
    const fs::path trainDir = folder(root / "train" / "good");
    for (int i = 0; i < options.trainGood; ++i)
        jobs.push_back({Split::TrainGood, -1, i, trainDir / (imageStem(i) + ".png"), {}});
    const fs::path testGoodDir = folder(root / "test" / "good");
    for (int i = 0; i < options.testGood; ++i)
        jobs.push_back({Split::TestGood, -1, i, testGoodDir / (imageStem(i) + ".png"), {}});
    const std::vector<DefectType> types = allDefectTypes();
    for (int d = 0; d < static_cast<int>(types.size()) && options.testPerDefect > 0; ++d) {
        const fs::path imageDir = folder(root / "test" / defectName(types[d]));
        const fs::path maskDir = folder(root / "ground_truth" / defectName(types[d]));
        for (int i = 0; i < options.testPerDefect; ++i) {
            jobs.push_back({Split::TestDefect, d, i, imageDir / (imageStem(i) + ".png"),
                            maskDir / (imageStem(i) + "_mask.png")});
        }
    }

    std::atomic<long> done{0};
    std::mutex mutex;
    std::string firstError;
    const long total = static_cast<long>(jobs.size());
    cv::parallel_for_(cv::Range(0, static_cast<int>(jobs.size())), [&](const cv::Range& range) {
        for (int j = range.start; j < range.end; ++j) {
            try {
                runJob(options, jobs[j]);
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(mutex);
                if (firstError.empty())
                    firstError = e.what();
            }
            const long finished = ++done;
            std::lock_guard<std::mutex> lock(mutex);
            if (progress)
                progress(finished, total);
        }
    });
    if (!firstError.empty())
        throw std::runtime_error(firstError);
}

}  // namespace anomaly_synth
