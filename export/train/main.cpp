// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_train: trains a LocalGlobalFlow model on good images and writes one ONNX model file.
#include "calibration.hpp"
#include "feature_cache.hpp"
#include "model_export.hpp"
#include "standardized_head.hpp"
#include "trainer.hpp"

#include <opencv2/anomaly/dataset.hpp>
#include <opencv2/core/utils/filesystem.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

using namespace anomaly_train;

namespace {

const char* const kUsage =
    "usage: anomaly_train --data <good images folder | MVTec category> --backbone <features.onnx>\n"
    "         --out <model.onnx> [--preset lgnf|dadf|lgfdr] [--model-size lite|paper]\n"
    "         [--image-size N] [--epochs N] [--batch N] [--seed N] [--threads N] [--holdout F]\n"
    "         [--val <folder with good/ and defect folders>] [--calibration quantile:Q|sigma:K]\n"
    "         [--checkpoint <path>] [--resume] [--on-bad-image fail|skip] [--lr X] [--quiet]\n";

struct Arguments
{
    std::map<std::string, std::string> values;
    bool has(const std::string& k) const { return values.count(k) != 0; }
    std::string get(const std::string& k, const std::string& def = "") const
    {
        const auto it = values.find(k);
        return it == values.end() ? def : it->second;
    }
};

Arguments parseArguments(int argc, char** argv)
{
    const std::vector<std::string> flags{"--resume", "--quiet", "--help"};
    Arguments a;
    for (int i = 1; i < argc; ++i) {
        const std::string key = argv[i];
        if (key.rfind("--", 0) != 0)
            throw std::invalid_argument("unexpected argument '" + key + "'");
        if (std::find(flags.begin(), flags.end(), key) != flags.end()) {
            a.values[key] = "1";
            continue;
        }
        if (i + 1 >= argc)
            throw std::invalid_argument(key + " needs a value");
        a.values[key] = argv[++i];
    }
    const std::vector<std::string> known{
        "--data",         "--backbone", "--out",         "--preset",     "--model-size",
        "--image-size",   "--epochs",   "--batch",       "--seed",       "--threads",
        "--holdout",      "--val",      "--calibration", "--checkpoint", "--resume",
        "--on-bad-image", "--lr",       "--quiet",       "--help"};
    for (const auto& kv : a.values)
        if (std::find(known.begin(), known.end(), kv.first) == known.end())
            throw std::invalid_argument("unknown option " + kv.first);
    return a;
}

int toInt(const Arguments& a, const std::string& key, int def, int minimum)
{
    if (!a.has(key))
        return def;
    size_t used = 0;
    int v = 0;
    try {
        v = std::stoi(a.get(key), &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != a.get(key).size() || v < minimum)
        throw std::invalid_argument(key + " must be an integer >= " + std::to_string(minimum));
    return v;
}

void onSignal(int)
{
    stopRequested().store(true);
}

std::string formatFloat(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

std::string joinNumbers(const cv::Scalar& s)
{
    return formatFloat(s[0]) + "," + formatFloat(s[1]) + "," + formatFloat(s[2]);
}

int run(int argc, char** argv)
{
    const Arguments args = parseArguments(argc, argv);
    if (args.has("--help")) {
        std::cout << kUsage;
        return 0;
    }
    for (const char* required : {"--data", "--backbone", "--out"})
        if (!args.has(required))
            throw std::invalid_argument(std::string(required) + " is required");
    const Preset preset = parsePreset(args.get("--preset", "lgnf"));
    const ModelSize size = parseModelSize(args.get("--model-size", "lite"));
    const int threads =
        toInt(args, "--threads", int(std::max(1u, std::thread::hardware_concurrency())), 1);
    const int epochs = toInt(args, "--epochs", preset == Preset::Lgfdr ? 12 : 8, 1);
    const int batch = toInt(args, "--batch", 8, 1);
    const int seed = toInt(args, "--seed", 0, 0);
    const double holdout = std::stod(args.get("--holdout", "0.1"));
    if (!(holdout >= 0 && holdout < 1))
        throw std::invalid_argument("--holdout must be in [0, 1)");
    const CalibrationRule rule = parseCalibrationRule(args.get("--calibration", "quantile:0.995"));
    const std::string badImage = args.get("--on-bad-image", "fail");
    if (badImage != "fail" && badImage != "skip")
        throw std::invalid_argument("--on-bad-image must be fail or skip");
    const BadImagePolicy policy = badImage == "fail" ? BadImagePolicy::Fail : BadImagePolicy::Skip;
    const bool quiet = args.has("--quiet");
    const std::string outPath = args.get("--out");

    torch::set_num_threads(threads);
    cv::setNumThreads(threads);
    torch::manual_seed(uint64_t(seed));

    Backbone backbone = loadBackbone(args.get("--backbone"));
    const int imageSize = toInt(args, "--image-size", backbone.spec.size.width, 16);
    if (imageSize != backbone.spec.size.width || imageSize != backbone.spec.size.height)
        throw std::invalid_argument(
            "--image-size " + std::to_string(imageSize) + " differs from the backbone's input " +
            std::to_string(backbone.spec.size.width) + "x" +
            std::to_string(backbone.spec.size.height) + " (export the backbone at that size)");

    std::vector<cv::String> listed = cv::anomaly::listTrainingImages(args.get("--data"));
    std::vector<std::string> paths(listed.begin(), listed.end());
    if (paths.size() < 2)
        throw std::runtime_error("need at least 2 training images in " + args.get("--data"));
    // Held-out images: a seeded random subset, at least one when holdout > 0.
    std::vector<size_t> order(paths.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(uint64_t(seed) + 17);
    std::shuffle(order.begin(), order.end(), rng);
    size_t heldCount = size_t(std::round(holdout * double(paths.size())));
    if (holdout > 0)
        heldCount = std::max<size_t>(1, heldCount);
    std::vector<std::string> trainPaths, heldPaths;
    for (size_t i = 0; i < order.size(); ++i)
        (i < heldCount ? heldPaths : trainPaths).push_back(paths[order[i]]);
    std::sort(trainPaths.begin(), trainPaths.end());
    std::sort(heldPaths.begin(), heldPaths.end());
    if (heldPaths.empty())
        heldPaths = trainPaths;  // --holdout 0: calibrate on the training images themselves

    const auto features = extractFeatures(backbone, trainPaths, policy, 8, !quiet);
    HeadOptions headOptions = defaultHeadOptions(preset, size);
    auto head = makeStandardizedHead(headOptions, backbone.geometry);
    head->fitFeatureStatistics(features);
    const double flops = headFlops(*head, backbone.geometry);
    std::fprintf(stderr,
                 "%s %s head: %.3f GFLOPs per %dx%d image, %zu training images, %zu held out\n",
                 presetName(preset).c_str(), modelSizeName(size).c_str(), flops * 1e-9, imageSize,
                 imageSize, trainPaths.size(), heldPaths.size());

    TrainOptions train;
    train.epochs = epochs;
    train.batch = batch;
    train.seed = uint64_t(seed);
    if (args.has("--lr"))
        train.learningRate = std::stod(args.get("--lr"));
    train.checkpointPath = args.get("--checkpoint", outPath + ".ckpt");
    train.resume = args.has("--resume");
    train.showProgress = !quiet;
    train.runSignature = presetName(preset) + "/" + modelSizeName(size) + "/" + backbone.name +
                         "/" + std::to_string(imageSize) +
                         "/images=" + std::to_string(trainPaths.size()) +
                         "/seed=" + std::to_string(seed) + "/batch=" + std::to_string(batch);
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    const TrainResult trained = trainHead(*head, features, train);
    if (trained.stopped) {
        std::fprintf(stderr,
                     "anomaly_train: stopped by signal; checkpoint %s written, no model "
                     "written (rerun with --resume to continue)\n",
                     train.checkpointPath.c_str());
        return 130;
    }
    head->fitMapStatistics(features, batch);
    head->eval();

    auto builder = buildMergedModel(backbone.model, *head, backbone.geometry);
    auto setMeta = [&](const std::string& k, const std::string& v) { builder->setMetadata(k, v); };
    setMeta("anomaly.format_version", "1.0");
    setMeta("anomaly.input_width", std::to_string(imageSize));
    setMeta("anomaly.input_height", std::to_string(imageSize));
    setMeta("anomaly.color_order", backbone.spec.rgb ? "RGB" : "BGR");
    setMeta("anomaly.mean", joinNumbers(backbone.spec.mean));
    setMeta("anomaly.std", joinNumbers(backbone.spec.std));
    setMeta("anomaly.method", presetName(preset));
    setMeta("anomaly.model_size", modelSizeName(size));
    setMeta("anomaly.backbone", backbone.name);
    setMeta("anomaly.score.reduction", "max");
    setMeta("anomaly.map.smoothing_sigma", "4");
    // Provisional values so the runtime can load the model for calibration.
    setMeta("anomaly.threshold.image", "0");
    setMeta("anomaly.threshold.pixel", "0");
    setMeta("anomaly.normalization.image", "0,1");
    setMeta("anomaly.normalization.pixel", "0,1");
    setMeta("anomaly.training.summary", "{}");

    std::vector<cv::Mat> heldImages;
    for (const auto& p : heldPaths) {
        cv::Mat image = readImage(p);
        if (image.empty()) {
            if (policy == BadImagePolicy::Fail)
                throw std::runtime_error("cannot read image " + p);
            continue;
        }
        heldImages.push_back(image);
    }
    if (heldImages.empty())
        throw std::runtime_error("no readable held-out image for calibration");
    auto detector = cv::anomaly::LocalGlobalFlow::createFromBuffer(
        anomaly_export::serializeOnnxModel(builder->model()));
    Calibration cal = calibrateOnGoodImages(*detector, heldImages, rule);
    if (args.has("--val"))
        cal = calibrateOnValidation(*detector, args.get("--val"), cal);
    setMeta("anomaly.threshold.image", formatFloat(cal.imageThreshold));
    setMeta("anomaly.threshold.pixel", formatFloat(cal.pixelThreshold));
    setMeta("anomaly.normalization.image",
            formatFloat(cal.imageMin) + "," + formatFloat(cal.imageMax));
    setMeta("anomaly.normalization.pixel",
            formatFloat(cal.pixelMin) + "," + formatFloat(cal.pixelMax));
    setMeta("anomaly.calibration", cal.method);
    std::ostringstream summary;
    summary << "{\"images\":" << trainPaths.size() << ",\"holdout\":" << heldImages.size()
            << ",\"data\":\"" << args.get("--data") << "\",\"preset\":\"" << presetName(preset)
            << "\",\"model_size\":\"" << modelSizeName(size) << "\",\"backbone\":\""
            << backbone.name << "\",\"image_size\":" << imageSize << ",\"epochs\":" << epochs
            << ",\"batch\":" << batch << ",\"lr\":" << train.learningRate << ",\"seed\":" << seed
            << ",\"threads\":" << threads << ",\"head_gflops\":" << formatFloat(flops * 1e-9)
            << ",\"train_seconds\":" << formatFloat(trained.seconds)
            << ",\"final_loss\":" << formatFloat(trained.lastEpochLoss) << ",\"calibration\":\""
            << cal.method << "\"}";
    setMeta("anomaly.training.summary", summary.str());
    builder->save(outPath);
    std::remove(train.checkpointPath.c_str());
    std::fprintf(stderr, "wrote %s: image threshold %s, pixel threshold %s (%s), trained %.0f s\n",
                 outPath.c_str(), formatFloat(cal.imageThreshold).c_str(),
                 formatFloat(cal.pixelThreshold).c_str(), cal.method.c_str(), trained.seconds);
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "anomaly_train: %s\n%s", e.what(), kUsage);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "\nanomaly_train: %s\n", e.what());
        return 1;
    }
}
