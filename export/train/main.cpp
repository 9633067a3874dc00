// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_train: trains a LocalGlobalFlow model on good images and writes one ONNX model file.
#include "calibration.hpp"
#include "command_line.hpp"
#include "feature_cache.hpp"
#include "model_export.hpp"
#include "standardized_head.hpp"
#include "statistics_score.hpp"
#include "stop_signals.hpp"
#include "synthetic_defect_set.hpp"
#include "tool_main.hpp"
#include "trainer.hpp"

#include <opencv2/anomaly/dataset.hpp>
#include <opencv2/anomaly/model_io.hpp>
#include <opencv2/core/utils/filesystem.hpp>

#include <csignal>
#include <cstdio>
#include <random>
#include <sstream>
#include <thread>

using namespace anomaly_train;

namespace {

using anomaly_samples::CommandLine;
using anomaly_samples::UsageError;

std::string formatFloat(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

CommandLine makeCommandLine()
{
    return CommandLine(
        "anomaly_train",
        "trains a LocalGlobalFlow model on good images and writes one ONNX model file",
        {{"data", "", "folder of good images, or an MVTec category root", true},
         {"backbone", "", "feature extractor written by anomaly_backbone (.onnx)", true},
         {"out", "", "model file to write (.onnx)", true},
         {"preset", "lgnf", "lgnf, dadf or lgfdr"},
         {"model-size", "lite", "lite or paper"},
         {"flow-input", flowInputName(HeadOptions().flowInput),
          "lgnf: what the flows see: whitened+discrepancy (F whitened per position, and F - R), "
          "discrepancy+features (F and F - R), discrepancy (F - R) or absdiff (|F - R|)"},
         {"flow-scales", flowScalesName(HeadOptions().flowScales),
          "lgnf: strides whose features get flows, ascending: 16, 8,16 or 4,8,16"},
         {"context-window", std::to_string(HeadOptions().contextWindow),
          "cells of the stride-16 grid (odd) over which a context map averages the features "
          "before its Gaussian per position, added to the anomaly map; 0: none"},
         {"synthetic-defects", "0",
          "synthetic defects per training image (bands and blobs pasted from other training "
          "images) on which a segmentation head learns to mark regions unlike their "
          "surroundings; its map is added to the anomaly map; 0: none"},
         {"band-edges", "auto",
          "edges the synthetic bands enter from: all, top-bottom, left-right, or auto (across "
          "the training images' grain: top-bottom when they are streaked top to bottom, "
          "left-right for the reverse, else all)"},
         {"segmentation-epochs", "24", "epochs of the segmentation head (>= 1)"},
         {"segmentation-weight", "1",
          "factor on the segmentation head's evidence (its map on the exceedance scale of the "
          "held-out images) where it is added to the anomaly map (> 0)"},
         {"image-size", "", "input size in pixels (>= 16; default: the backbone's)"},
         {"epochs", "", "training epochs (>= 1; default 12 for lgfdr, 8 otherwise)"},
         {"batch", "8", "images per training step (>= 1)"},
         {"seed", "0", "random seed (>= 0)"},
         {"threads", std::to_string(std::max(1u, std::thread::hardware_concurrency())),
          "LibTorch and OpenCV threads (>= 1)"},
         {"holdout", "0.1", "fraction of the images held out for calibration, in [0, 1)"},
         {"val", "", "validation folder with good/ and defect folders, for the thresholds"},
         {"calibration", "quantile:0.995", "threshold rule: quantile:Q or sigma:K"},
         {"statistics-score", "on",
          "on: the image score is also raised by the global statistics of the features; off"},
         {"checkpoint", "", "checkpoint file (default <out>.ckpt)"},
         {"resume", "", "continue from the checkpoint", false, true},
         {"on-bad-image", "fail", "an unreadable image: fail or skip"},
         {"lr", "", "learning rate (default " + formatFloat(TrainOptions().learningRate) + ")"},
         {"quiet", "", "no progress bars", false, true}});
}

// The option parsers of the training library throw std::invalid_argument; here that is a usage
// error like any other bad option.
template <typename Parser>
auto parseOption(const CommandLine& cli, const std::string& name, Parser parser)
{
    try {
        return parser(cli.get(name));
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
}

void onSignal(int)
{
    stopRequested().store(true);
}

std::string joinNumbers(const cv::Scalar& s)
{
    return formatFloat(s[0]) + "," + formatFloat(s[1]) + "," + formatFloat(s[2]);
}

/** Trains the head's segmentation head on `variants` synthetic defects per training image plus
the clean training images (stride-16 features `goodFeatures`, all cells defect-free). `options`
come as the head's, with the epochs and run signature set; the rest is set here, and returned
through it: the checkpoint path and whether it resumes. */
TrainResult trainSegmentation(StandardizedHeadImpl& head, Backbone& backbone,
                              const std::vector<std::string>& trainPaths,
                              const torch::Tensor& goodFeatures, int variants,
                              const DefectSynthesisOptions& synthesis, TrainOptions& options)
{
    options.batch = 32;
    options.weightDecay = 1e-4;
    options.checkpointPath += ".segmentation";
    // The head's checkpoint may be complete while the segmentation head's was never written.
    options.resume = options.resume && cv::utils::fs::exists(options.checkpointPath);
    options.progressLabel = "segment";
    const SyntheticDefectSet defects = makeSyntheticDefectSet(
        backbone, trainPaths, variants, options.seed, options.showProgress, synthesis);
    const std::vector<torch::Tensor> data{
        torch::cat({defects.features, goodFeatures}),
        torch::cat({defects.targets, torch::zeros({goodFeatures.size(0), 1, goodFeatures.size(2),
                                                   goodFeatures.size(3)})})};
    torch::manual_seed(options.seed + 1);
    return trainModule(
        *head.segmentation(), data,
        [&head](const std::vector<torch::Tensor>& rows) {
            // Horizontal flips: defects enter from either side.
            if (torch::rand({1}).item<float>() < 0.5f)
                return head.segmentationLoss(rows[0].flip({3}), rows[1].flip({3}));
            return head.segmentationLoss(rows[0], rows[1]);
        },
        options);
}

int run(const CommandLine& cli)
{
    const Preset preset = parseOption(cli, "preset", parsePreset);
    const ModelSize size = parseOption(cli, "model-size", parseModelSize);
    const FlowInput flowInput = parseOption(cli, "flow-input", parseFlowInput);
    if (cli.has("flow-input") && preset != Preset::Lgnf)
        throw UsageError(
            "--flow-input is an lgnf setting (dadf's flows see concat(F, F_local, "
            "F_global); lgfdr has no flow)");
    const std::vector<int> flowScales = parseOption(cli, "flow-scales", parseFlowScales);
    if (cli.has("flow-scales") && preset != Preset::Lgnf)
        throw UsageError(
            "--flow-scales is an lgnf setting (dadf has a flow per scale; lgfdr has "
            "no flow)");
    const int contextWindow = cli.getInt("context-window", 0);
    if (contextWindow % 2 == 0 && contextWindow != 0)
        throw UsageError("--context-window must be 0 or odd");
    const int syntheticDefects = cli.getInt("synthetic-defects", 0);
    const int segmentationEpochs = cli.getInt("segmentation-epochs", 1);
    const double segmentationWeight = cli.getDouble("segmentation-weight");
    if ((cli.has("segmentation-epochs") || cli.has("segmentation-weight") ||
         cli.has("band-edges")) &&
        syntheticDefects == 0)
        throw UsageError(
            "--segmentation-epochs, --segmentation-weight and --band-edges need "
            "--synthetic-defects");
    // auto: measured from the training images' grain once they are listed.
    const bool measureBandEdges = cli.get("band-edges") == "auto";
    const BandEdges requestedBandEdges =
        measureBandEdges ? BandEdges::All : parseOption(cli, "band-edges", parseBandEdges);
    if (!(segmentationWeight > 0))
        throw UsageError("--segmentation-weight must be positive");
    const int threads = cli.getInt("threads", 1);
    const int epochs =
        cli.has("epochs") ? cli.getInt("epochs", 1) : (preset == Preset::Lgfdr ? 12 : 8);
    const int batch = cli.getInt("batch", 1);
    const int seed = cli.getInt("seed", 0);
    const double holdout = cli.getDouble("holdout");
    if (!(holdout >= 0 && holdout < 1))
        throw UsageError("--holdout must be in [0, 1)");
    const CalibrationRule rule = parseOption(cli, "calibration", parseCalibrationRule);
    const std::string badImage = cli.get("on-bad-image");
    if (badImage != "fail" && badImage != "skip")
        throw UsageError("--on-bad-image must be fail or skip");
    const BadImagePolicy policy = badImage == "fail" ? BadImagePolicy::Fail : BadImagePolicy::Skip;
    const double learningRate = cli.has("lr") ? cli.getDouble("lr") : TrainOptions().learningRate;
    // 0: the backbone's input size, known once it is loaded (after every option is checked).
    const int requestedImageSize = cli.has("image-size") ? cli.getInt("image-size", 16) : 0;
    const bool quiet = cli.has("quiet");
    const std::string outPath = cli.get("out");
    const std::string statisticsOption = cli.get("statistics-score");
    if (statisticsOption != "on" && statisticsOption != "off")
        throw UsageError("--statistics-score must be on or off");

    torch::set_num_threads(threads);
    cv::setNumThreads(threads);
    torch::manual_seed(uint64_t(seed));

    Backbone backbone = loadBackbone(cli.get("backbone"));
    const int imageSize = requestedImageSize ? requestedImageSize : backbone.spec.size.width;
    if (imageSize != backbone.spec.size.width || imageSize != backbone.spec.size.height)
        throw UsageError(
            "--image-size " + std::to_string(imageSize) + " differs from the backbone's input " +
            std::to_string(backbone.spec.size.width) + "x" +
            std::to_string(backbone.spec.size.height) + " (export the backbone at that size)");

    std::vector<cv::String> listed = cv::anomaly::listTrainingImages(cli.get("data"));
    std::vector<std::string> paths(listed.begin(), listed.end());
    if (paths.size() < 2)
        throw std::runtime_error("need at least 2 training images in " + cli.get("data"));
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
    const bool calibrateOnTraining = heldPaths.empty();  // --holdout 0

    const auto features = extractFeatures(backbone, trainPaths, policy, 8, !quiet);
    HeadOptions headOptions = defaultHeadOptions(preset, size);
    headOptions.flowInput = flowInput;
    headOptions.flowScales = flowScales;
    headOptions.contextWindow = contextWindow;
    headOptions.segmentation = syntheticDefects > 0;
    headOptions.segmentationWeight = segmentationWeight;
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
    train.learningRate = learningRate;
    train.checkpointPath = cli.has("checkpoint") ? cli.get("checkpoint") : outPath + ".ckpt";
    train.resume = cli.has("resume");
    train.showProgress = !quiet;
    train.runSignature =
        presetName(preset) + "/" + modelSizeName(size) + "/" +
        (preset == Preset::Lgnf
             ? flowInputName(flowInput) + "/scales=" + flowScalesName(flowScales) + "/"
             : "") +
        "context=" + std::to_string(contextWindow) + "/" + backbone.name + "/" +
        std::to_string(imageSize) + "/images=" + std::to_string(trainPaths.size()) +
        "/seed=" + std::to_string(seed) + "/batch=" + std::to_string(batch);
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    const TrainResult trained = trainHead(*head, features, train);
    const auto reportStop = [](const std::string& checkpoint) {
        std::fprintf(stderr,
                     "anomaly_train: stopped by signal; checkpoint %s written, no model "
                     "written (rerun with --resume to continue)\n",
                     checkpoint.c_str());
        return 130;
    };
    if (trained.stopped)
        return reportStop(train.checkpointPath);
    TrainOptions segmentationTrain = train;
    TrainResult segmented;
    DefectSynthesisOptions synthesis;
    if (head->segmentation()) {
        synthesis.bandEdges = requestedBandEdges;
        if (measureBandEdges) {
            const GrainEnergy grain = measureGrain(trainPaths, backbone.spec.size);
            synthesis.bandEdges = bandEdgesAcrossGrain(grain);
            std::fprintf(stderr,
                         "grain of the training images: horizontal / vertical gradient energy "
                         "%.2f, synthetic bands from %s\n",
                         grain.horizontal / std::max(grain.vertical, 1e-12),
                         bandEdgesName(synthesis.bandEdges).c_str());
        }
        segmentationTrain.epochs = segmentationEpochs;
        // Without the epochs, as the head's: a stopped run may be resumed with another budget.
        segmentationTrain.runSignature = train.runSignature +
                                         "/synthetic=" + std::to_string(syntheticDefects) +
                                         "/bands=" + bandEdgesName(synthesis.bandEdges);
        segmented = trainSegmentation(*head, backbone, trainPaths, features[2], syntheticDefects,
                                      synthesis, segmentationTrain);
        if (segmented.stopped)
            return reportStop(segmentationTrain.checkpointPath);
    }
    // --holdout 0: calibrate on the training images the features were computed from (the
    // list extractFeatures left, without the images it skipped), so rows match `features`.
    if (calibrateOnTraining)
        heldPaths = trainPaths;
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
    // With --holdout 0 the held-out images are the training images, whose features are at hand.
    const auto heldFeatures =
        calibrateOnTraining ? features : extractFeatures(backbone, heldImages);
    head->fitMapStatistics(features, heldFeatures, batch);
    head->eval();
    StatisticsScore statistics{nullptr};
    double shrinkage = 0;
    if (statisticsOption == "on") {
        statistics = StatisticsScore(backbone.geometry.channels[2]);
        shrinkage = statistics->fit(features[2]);
    }

    std::unique_ptr<anomaly_export::OnnxGraphBuilder> builder;
    auto setMeta = [&](const std::string& k, const std::string& v) { builder->setMetadata(k, v); };
    const auto buildModel = [&](const StatisticsScoreImpl* withStatistics) {
        builder = buildMergedModel(backbone.model, *head, backbone.geometry, withStatistics);
        // The version of the runtime built beside the tool: the graph uses its ops.
        setMeta("anomaly.format_version", std::to_string(cv::anomaly::formatVersionMajor()) + "." +
                                              std::to_string(cv::anomaly::formatVersionMinor()));
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
        return cv::anomaly::LocalGlobalFlow::createFromBuffer(
            anomaly_export::serializeOnnxModel(builder->model()));
    };
    auto detector = buildModel(nullptr);
    if (statistics) {
        // The statistics score is put into the units of the map score on the held-out images
        // (the runtime's image score is the larger of the two), so a model without it is run
        // first for their map scores.
        std::vector<cv::anomaly::AnomalyResult> results;
        detector->detectBatch(heldImages, results);
        std::vector<float> mapScores;
        for (const auto& r : results)
            mapScores.push_back(r.score);
        statistics->scaleToMapScores(heldFeatures[2], mapScores);
        detector = buildModel(statistics.get());
    }
    Calibration cal = calibrateOnGoodImages(*detector, heldImages, rule);
    if (cli.has("val"))
        cal = calibrateOnValidation(*detector, cli.get("val"), cal);
    setMeta("anomaly.threshold.image", formatFloat(cal.imageThreshold));
    setMeta("anomaly.threshold.pixel", formatFloat(cal.pixelThreshold));
    setMeta("anomaly.normalization.image",
            formatFloat(cal.imageMin) + "," + formatFloat(cal.imageMax));
    setMeta("anomaly.normalization.pixel",
            formatFloat(cal.pixelMin) + "," + formatFloat(cal.pixelMax));
    setMeta("anomaly.calibration", cal.method);
    std::ostringstream summary;
    summary << "{\"images\":" << trainPaths.size()
            << ",\"holdout\":" << (calibrateOnTraining ? 0 : heldImages.size()) << ",\"data\":\""
            << cli.get("data") << "\",\"preset\":\"" << presetName(preset) << "\",\"model_size\":\""
            << modelSizeName(size) << "\",\"backbone\":\"" << backbone.name
            << "\",\"image_size\":" << imageSize << ",\"epochs\":" << epochs
            << ",\"batch\":" << batch << ",\"lr\":" << train.learningRate << ",\"seed\":" << seed
            << ",\"threads\":" << threads << ",\"head_gflops\":" << formatFloat(flops * 1e-9)
            << ",\"train_seconds\":" << formatFloat(trained.seconds)
            << ",\"final_loss\":" << formatFloat(trained.lastEpochLoss) << ",\"calibration\":\""
            << cal.method << "\",\"statistics_score\":" << (statistics ? "true" : "false");
    if (statistics)
        summary << ",\"statistics_shrinkage\":" << formatFloat(shrinkage);
    summary << ",\"context_window\":" << contextWindow;
    if (head->segmentation())
        summary << ",\"synthetic_defects\":" << syntheticDefects << ",\"band_edges\":\""
                << bandEdgesName(synthesis.bandEdges) << "\""
                << ",\"segmentation_epochs\":" << segmentationEpochs
                << ",\"segmentation_weight\":" << formatFloat(segmentationWeight)
                << ",\"segmentation_seconds\":" << formatFloat(segmented.seconds)
                << ",\"segmentation_loss\":" << formatFloat(segmented.lastEpochLoss);
    if (preset == Preset::Lgnf)
        summary << ",\"flow_input\":\"" << flowInputName(flowInput) << "\",\"flow_scales\":\""
                << flowScalesName(flowScales) << "\"";
    summary << "}";
    setMeta("anomaly.training.summary", summary.str());
    builder->save(outPath);
    std::remove(train.checkpointPath.c_str());
    if (head->segmentation())
        std::remove(segmentationTrain.checkpointPath.c_str());
    std::fprintf(stderr, "wrote %s: image threshold %s, pixel threshold %s (%s), trained %.0f s\n",
                 outPath.c_str(), formatFloat(cal.imageThreshold).c_str(),
                 formatFloat(cal.pixelThreshold).c_str(), cal.method.c_str(), trained.seconds);
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    // Before any thread starts, so that every computing thread inherits the blocked mask.
    routeStopSignalsToOwnThread();
    CommandLine cli = makeCommandLine();
    return anomaly_samples::runTool(cli, argc, argv, run);
}
