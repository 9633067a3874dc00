// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Runs anomaly_evaluate on a five-image MVTec-layout set scored by the channel-mix model (map =
// mean of B, G, R in [0,1]), so every image score, and therefore the metrics, is known by hand.
#include "program_run.hpp"
#include "test_models.hpp"

#include <opencv2/imgcodecs.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using anomaly_test::quoted;
using anomaly_test::run;

class EvaluateTool : public ::testing::Test
{
protected:
    void SetUp() override
    {
        dir_ = fs::temp_directory_path() / ("anomaly_evaluate_test_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        for (const char* sub :
             {"data/train/good", "data/test/good", "data/test/spot", "data/ground_truth/spot",
              "data/test/zone", "data/ground_truth/zone"})
            fs::create_directories(dir_ / sub);
        const auto bytes = opencv_test::channelMixModel().serialize();
        std::ofstream(dir_ / "model.onnx", std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));

        // Good images: uniform grey 10, 20, 30 -> scores 10/255, 20/255, 30/255.
        int index = 0;
        for (int level : {10, 20, 30})
            write("data/test/good/" + std::to_string(index++) + ".png",
                  cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(level)));
        // Defect 0: a white square on grey 5 -> score 1, mask = the square.
        cv::Mat spot(48, 64, CV_8UC3, cv::Scalar::all(5)), mask(48, 64, CV_8U, cv::Scalar(0));
        spot(cv::Rect(20, 10, 10, 10)).setTo(cv::Scalar::all(255));
        mask(cv::Rect(20, 10, 10, 10)).setTo(255);
        write("data/test/spot/0.png", spot);
        write("data/ground_truth/spot/0_mask.png", mask);
        // Defect 1: uniform grey 25 (a defect the model cannot see) -> score 25/255, empty mask.
        write("data/test/spot/1.png", cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(25)));
        write("data/ground_truth/spot/1_mask.png", cv::Mat(48, 64, CV_8U, cv::Scalar(0)));
        // Zone: a white square on grey 5 whose mask also marks a grey-5 area of the same size
        // that the model cannot see, as large masks of a subtle texture do.
        cv::Mat zone(48, 64, CV_8UC3, cv::Scalar::all(5)), zoneMask(48, 64, CV_8U, cv::Scalar(0));
        zone(cv::Rect(8, 8, 10, 10)).setTo(cv::Scalar::all(255));
        zoneMask(cv::Rect(8, 8, 10, 10)).setTo(255);
        zoneMask(cv::Rect(44, 30, 10, 10)).setTo(255);
        write("data/test/zone/0.png", zone);
        write("data/ground_truth/zone/0_mask.png", zoneMask);
    }
    void TearDown() override { fs::remove_all(dir_); }

    void write(const std::string& relative, const cv::Mat& image)
    {
        ASSERT_TRUE(cv::imwrite((dir_ / relative).string(), image));
    }

    // First numeric value of "key": in the JSON text (the "spot" group comes first).
    static double jsonNumber(const std::string& json, const std::string& key)
    {
        std::smatch m;
        const std::regex re("\"" + key + "\":\\s*([-0-9.eE]+)");
        if (!std::regex_search(json, m, re))
            ADD_FAILURE() << "no " << key << " in results.json";
        return m.empty() ? -1 : std::stod(m[1]);
    }

    // Numeric value of "key": in the JSON group named `group`.
    static double groupNumber(const std::string& json, const std::string& group,
                              const std::string& key)
    {
        const size_t start = json.find("{\"name\": \"" + group + "\"");
        if (start == std::string::npos) {
            ADD_FAILURE() << "no group " << group << " in results.json";
            return -1;
        }
        return jsonNumber(json.substr(start, json.find('}', start) - start), key);
    }

    fs::path dir_;
};

TEST_F(EvaluateTool, metrics_match_hand_computed_values)
{
    const auto result =
        run(std::string(ANOMALY_EVALUATE) + " --model " + quoted(dir_ / "model.onnx") + " --data " +
            quoted(dir_ / "data") + " --out " + quoted(dir_ / "out"));
    ASSERT_EQ(result.exitCode, 0) << result.output;
    for (const char* file : {"results.json", "results.csv", "roc.png", "worst_cases.png"})
        EXPECT_TRUE(fs::is_regular_file(dir_ / "out" / file)) << file;
    std::ifstream in(dir_ / "out" / "results.json");
    std::stringstream text;
    text << in.rdbuf();
    const std::string json = text.str();
    // Image AUROC: of the 2 x 3 (defect, good) pairs, score 1 beats all three goods and 25/255
    // beats 10/255 and 20/255: 5/6.
    EXPECT_NEAR(jsonNumber(json, "image_auroc"), 5.0 / 6.0, 1e-6);
    // F1-max at threshold 25/255: predicted NG = {1, 25/255, 30/255}: P = 2/3, R = 1, F1 = 0.8.
    EXPECT_NEAR(jsonNumber(json, "image_f1max"), 0.8, 1e-6);
    EXPECT_NEAR(jsonNumber(json, "image_f1max_threshold"), 25.0 / 255.0, 1e-6);
    // Every square pixel stays above every other pixel after resampling (>= ~0.5 vs <= 30/255).
    EXPECT_NEAR(jsonNumber(json, "pixel_auroc"), 1.0, 1e-9);
    // In-image pixel AUROC of "spot": image 0 alone (image 1's mask is empty), square above all.
    EXPECT_NEAR(groupNumber(json, "spot", "in_image_pixel_auroc"), 1.0, 1e-9);
    // "zone": of its 200 defect pixels the 100 square ones beat all 2872 good pixels and the 100
    // unseen ones tie with the grey ones (counted 1/2) and lose to the square's resampled rim:
    // (100 + 100 / 2) / 200 = 0.75, a little less for the rim.
    EXPECT_NEAR(groupNumber(json, "zone", "in_image_pixel_auroc"), 0.75, 0.01);
    EXPECT_LT(groupNumber(json, "zone", "in_image_pixel_auroc"), 0.75);
    // Pooled over the group, the unseen 100 sit below all 3 x 3072 pixels of the brighter good
    // images: (100 x 12088 + 100 x 2832 / 2) / (200 x 12088), less a little for the rim.
    EXPECT_NEAR(groupNumber(json, "zone", "pixel_auroc"), 0.5 + 1416.0 / (2 * 12088), 0.002);
    // Against the good images' pixels alone (3 x 3072 at 10, 20, 30 / 255): the square's 100
    // pixels beat them all, the unseen 100 (5 / 255, far from the square's rim) lose to all: 0.5
    // exactly; for "spot" only the square counts: 1.
    EXPECT_NEAR(groupNumber(json, "zone", "pixel_auroc_vs_good_images"), 0.5, 1e-9);
    EXPECT_NEAR(groupNumber(json, "spot", "pixel_auroc_vs_good_images"), 1.0, 1e-9);
    // Worst outlines, worst first: zone/0 (0.75), then spot/0 (1); spot/1's empty mask has none.
    const size_t listStart = json.find("\"worst_outlines\"");
    ASSERT_NE(listStart, std::string::npos);
    const std::string outlines = json.substr(listStart, json.find(']', listStart) - listStart);
    const size_t zone = outlines.find("zone/0.png"), spot = outlines.find("spot/0.png");
    EXPECT_NE(zone, std::string::npos) << outlines;
    EXPECT_NE(spot, std::string::npos) << outlines;
    EXPECT_LT(zone, spot) << outlines;
    EXPECT_EQ(outlines.find("spot/1.png"), std::string::npos) << outlines;
    EXPECT_NE(result.output.find("overall"), std::string::npos) << result.output;
}

TEST_F(EvaluateTool, bad_arguments_and_missing_data_fail_with_one_line)
{
    auto noArgs = run(std::string(ANOMALY_EVALUATE));
    EXPECT_NE(noArgs.exitCode, 0);
    auto missing = run(std::string(ANOMALY_EVALUATE) + " --model " + quoted(dir_ / "model.onnx") +
                       " --data " + quoted(dir_ / "no_such_dir") + " --out " + quoted(dir_ / "o2"));
    EXPECT_NE(missing.exitCode, 0);
    EXPECT_NE(missing.output.find("no_such_dir"), std::string::npos) << missing.output;
    auto badModel = run(std::string(ANOMALY_EVALUATE) + " --model " + quoted(dir_ / "nope.onnx") +
                        " --data " + quoted(dir_ / "data") + " --out " + quoted(dir_ / "o3"));
    EXPECT_NE(badModel.exitCode, 0);
    EXPECT_NE(badModel.output.find("nope.onnx"), std::string::npos) << badModel.output;
}

}  // namespace
