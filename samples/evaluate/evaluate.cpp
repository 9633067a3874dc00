// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_evaluate: scores a test set with a model and reports the metrics the field uses, per
// defect type and overall (stdout table, results.json, results.csv), with an ROC figure and a grid
// of the worst misses, false alarms and outlines. Exit code: 0 done, 1 unreadable data or model, 2
// bad usage.
#include "command_line.hpp"
#include "evaluation_report.hpp"
#include "evaluation_run.hpp"
#include "output_file.hpp"
#include "report_figures.hpp"
#include "tool_main.hpp"

#include <opencv2/anomaly.hpp>

#include <filesystem>
#include <iostream>
#include <map>

namespace {

namespace fs = std::filesystem;
using anomaly_samples::UsageError;

int parseLayout(const std::string& name)
{
    static const std::map<std::string, int> kLayouts = {{"auto", cv::anomaly::DATASET_AUTO},
                                                        {"mvtec", cv::anomaly::DATASET_MVTEC_AD},
                                                        {"loco", cv::anomaly::DATASET_MVTEC_LOCO},
                                                        {"mvtec3d", cv::anomaly::DATASET_MVTEC_3D},
                                                        {"folder", cv::anomaly::DATASET_FOLDER}};
    const auto it = kLayouts.find(name);
    if (it == kLayouts.end())
        throw UsageError("--layout must be auto, mvtec, loco, mvtec3d or folder, not '" + name +
                         "'");
    return it->second;
}

std::string layoutName(int layout)
{
    switch (layout) {
        case cv::anomaly::DATASET_MVTEC_AD:
            return "mvtec";
        case cv::anomaly::DATASET_MVTEC_LOCO:
            return "loco";
        case cv::anomaly::DATASET_MVTEC_3D:
            return "mvtec3d";
        case cv::anomaly::DATASET_FOLDER:
            return "folder";
        default:
            return "auto";
    }
}

int run(const anomaly_samples::CommandLine& cli)
{
    const int layout = parseLayout(cli.get("layout"));
    const int threads = cli.getInt("threads");
    const int worst = cli.getInt("worst");
    if (threads < 1 || threads > 64)
        throw UsageError("--threads must be between 1 and 64");
    if (worst < 0)
        throw UsageError("--worst must be >= 0");
    const std::string modelPath = cli.get("model"), dataPath = cli.get("data");
    const fs::path outDir = cli.get("out");

    const cv::anomaly::TestSet testSet = cv::anomaly::readTestSet(dataPath, layout);
    // This detector reads the model's settings for the report; the run makes its own per thread.
    const cv::Ptr<cv::anomaly::LocalGlobalFlow> model =
        cv::anomaly::LocalGlobalFlow::create(modelPath);
    std::error_code ec;
    fs::create_directories(outDir, ec);
    if (ec)
        throw std::runtime_error("cannot create output folder " + outDir.string() + ": " +
                                 ec.message());
    std::cerr << "anomaly_evaluate: " << testSet.samples.size() << " test images ("
              << layoutName(testSet.layout) << " layout"
              << (testSet.hasMasks ? ", with masks" : ", no masks: image metrics only") << ")\n";

    const std::vector<anomaly_evaluate::ScoredSample> results =
        anomaly_evaluate::scoreTestSet(modelPath, testSet, threads);
    std::cerr << "anomaly_evaluate: computing metrics\n";
    const std::vector<anomaly_evaluate::GroupMetrics> groups =
        anomaly_evaluate::computeGroupMetrics(results, testSet);
    const anomaly_evaluate::LatencySummary latency = anomaly_evaluate::summarizeLatency(results);
    const anomaly_evaluate::WorstCases worstCases =
        anomaly_evaluate::findWorstCases(results, size_t(worst));

    std::cout << anomaly_evaluate::formatTable(groups, latency) << std::flush;

    anomaly_evaluate::RunDescription description;
    description.model = modelPath;
    description.data = dataPath;
    description.layout = layoutName(testSet.layout);
    description.method = model->getMethod();
    description.backbone = model->getBackbone();
    description.imageThreshold = model->getImageThreshold();
    description.pixelThreshold = model->getPixelThreshold();
    description.threads = threads;
    anomaly_samples::writeTextAtomically(
        (outDir / "results.json").string(),
        anomaly_evaluate::formatJson(description, groups, latency, results, worstCases));
    anomaly_samples::writeTextAtomically((outDir / "results.csv").string(),
                                         anomaly_evaluate::formatCsv(groups));
    const std::string title = "Image-level ROC: " + fs::path(dataPath).filename().string() + " (" +
                              description.method + ", " + description.backbone + ")";
    anomaly_samples::writeImageAtomically(
        (outDir / "roc.png").string(),
        anomaly_evaluate::drawRocFigure(anomaly_evaluate::imageRocSeries(results), title));
    anomaly_samples::writeImageAtomically(
        (outDir / "worst_cases.png").string(),
        anomaly_evaluate::drawWorstCasesGrid(results, worstCases,
                                             anomaly_samples::MapScale::fromModel(*model),
                                             description.imageThreshold));
    std::cerr << "anomaly_evaluate: wrote results.json, results.csv, roc.png, worst_cases.png to "
              << outDir.string() << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    anomaly_samples::CommandLine cli(
        "anomaly_evaluate",
        "scores a test set with a model and reports image/pixel AUROC, AUPRO, pixel AP, F1-max "
        "(and AUC-sPRO for MVTec LOCO) per defect type and overall",
        {{"model", "", "model file (.onnx) written by anomaly_train", true},
         {"data", "",
          "data set root (an MVTec category, or a folder with good/ and defect folders)", true},
         {"out", "", "folder for results.json, results.csv, roc.png, worst_cases.png", true},
         {"layout", "auto", "auto, mvtec, loco, mvtec3d or folder"},
         {"threads", "1", "detectors run in parallel (one model instance each)"},
         {"worst", "4",
          "worst misses, false alarms and outlines (defective images whose map separates the "
          "defect least) shown in worst_cases.png"}});
    return anomaly_samples::runTool(cli, argc, argv, run);
}
