// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Runs the sample programs on a model whose answer is known by hand: the module tests' channel-mix
// model, whose anomaly map is the mean of B, G, R in [0,1] with image and pixel thresholds 0.5 and
// normalisation range [0,1]. A uniform grey image of level v therefore scores exactly v and is NG
// when v >= 0.5, and its normalised score is 0.5 + (v - 0.5) = v.
#include "program_run.hpp"
#include "test_models.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace {

namespace fs = std::filesystem;

using anomaly_test::ProgramRun;
using anomaly_test::quoted;
using anomaly_test::run;

class SamplePrograms : public ::testing::Test
{
protected:
    void SetUp() override
    {
        dir_ = fs::temp_directory_path() / ("anomaly_samples_test_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        model_ = dir_ / "channel_mix.onnx";
        const std::vector<unsigned char> bytes = opencv_test::channelMixModel(false).serialize();
        std::ofstream(model_, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size()));
    }
    void TearDown() override { fs::remove_all(dir_); }

    // A uniform grey image of level v (0..255) in 8-bit BGR.
    fs::path greyImage(const fs::path& path, int level)
    {
        fs::create_directories(path.parent_path());
        cv::imwrite(path.string(), cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(level)));
        return path;
    }

    fs::path dir_;
    fs::path model_;
};

TEST_F(SamplePrograms, DetectImageBrightIsNgAndWritesOverlay)
{
    const fs::path image = greyImage(dir_ / "bright.png", 204);  // 0.8
    const fs::path overlay = dir_ / "overlay.png";
    const ProgramRun r = run(std::string(ANOMALY_DETECT_IMAGE) + " --model " + quoted(model_) +
                             " --image " + quoted(image) + " --out " + quoted(overlay));
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("NG"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("normalized 0.800"), std::string::npos) << r.output;
    const cv::Mat picture = cv::imread(overlay.string());
    ASSERT_FALSE(picture.empty());
    // Enlarged to 640 wide (48x64 -> 480x640) with a banner above the image.
    EXPECT_EQ(picture.cols, 640);
    EXPECT_GT(picture.rows, 480);
}

TEST_F(SamplePrograms, DetectImageTallNarrowPartIsCentredNotBlownUp)
{
    // A 20x400 strip: widening it to 640 would give a 640x12800 picture.
    const fs::path image = dir_ / "strip.png";
    cv::imwrite(image.string(), cv::Mat(400, 20, CV_8UC3, cv::Scalar::all(204)));
    const fs::path overlay = dir_ / "strip_overlay.png";
    const ProgramRun r = run(std::string(ANOMALY_DETECT_IMAGE) + " --model " + quoted(model_) +
                             " --image " + quoted(image) + " --out " + quoted(overlay));
    ASSERT_EQ(r.exitCode, 0) << r.output;
    const cv::Mat picture = cv::imread(overlay.string());
    ASSERT_FALSE(picture.empty());
    // Enlarged 3.2x (to 1280 = 2 x 640 tall, 64 wide), centred on a 640-wide canvas.
    EXPECT_EQ(picture.cols, 640);
    EXPECT_GT(picture.rows, 1280);
    EXPECT_LT(picture.rows, 1280 + 200);
    const int middleRow = picture.rows - 640;
    const cv::Vec3b margin = picture.at<cv::Vec3b>(middleRow, 5);
    const cv::Vec3b part = picture.at<cv::Vec3b>(middleRow, 320);
    EXPECT_LT(margin[0] + margin[1] + margin[2], 3 * 60) << "side margin should be dark";
    EXPECT_GT(part[0] + part[1] + part[2], 3 * 100) << "the bright part should be in the middle";
}

TEST_F(SamplePrograms, DetectImageDarkIsOk)
{
    const fs::path image = greyImage(dir_ / "dark.png", 51);  // 0.2
    const ProgramRun r = run(std::string(ANOMALY_DETECT_IMAGE) + " --model " + quoted(model_) +
                             " --image " + quoted(image) + " --out " + quoted(dir_ / "o.png"));
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_EQ(r.output.rfind("OK", 0), 0u) << r.output;
}

TEST_F(SamplePrograms, DetectImageErrorsAreOneLineAndNonZero)
{
    const ProgramRun missingModel = run(
        std::string(ANOMALY_DETECT_IMAGE) + " --model " + quoted(dir_ / "none.onnx") + " --image " +
        quoted(greyImage(dir_ / "a.png", 10)) + " --out " + quoted(dir_ / "o.png"));
    EXPECT_NE(missingModel.exitCode, 0);
    EXPECT_NE(missingModel.output.find("anomaly_detect_image: error:"), std::string::npos);
    const ProgramRun missingOption =
        run(std::string(ANOMALY_DETECT_IMAGE) + " --model " + quoted(model_));
    EXPECT_NE(missingOption.exitCode, 0);
    EXPECT_NE(missingOption.output.find("--image"), std::string::npos) << missingOption.output;
    EXPECT_EQ(std::count(missingOption.output.begin(), missingOption.output.end(), '\n'), 1)
        << missingOption.output;
    EXPECT_FALSE(fs::exists(dir_ / "o.png"));
}

TEST_F(SamplePrograms, InspectFolderCsvAndExitCodes)
{
    greyImage(dir_ / "parts" / "a" / "dark1.png", 51);
    greyImage(dir_ / "parts" / "b" / "bright.png", 204);
    greyImage(dir_ / "parts" / "dark2.png", 25);
    const fs::path csv = dir_ / "out.csv";
    const ProgramRun r = run(std::string(ANOMALY_INSPECT_FOLDER) + " --model " + quoted(model_) +
                             " --dir " + quoted(dir_ / "parts") + " --csv " + quoted(csv) +
                             " --overlays " + quoted(dir_ / "overlays"));
    EXPECT_EQ(r.exitCode, 2) << r.output;  // one NG image
    EXPECT_NE(r.output.find("2 OK, 1 NG"), std::string::npos) << r.output;

    std::ifstream in(csv);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0], "file,score,normalized_score,label,regions,ms");
    // Name order; scores are the grey levels / 255.
    EXPECT_EQ(lines[1].rfind("a/dark1.png,0.2,0.2000,OK,0,", 0), 0u) << lines[1];
    EXPECT_EQ(lines[2].rfind("b/bright.png,0.8,0.8000,NG,1,", 0), 0u) << lines[2];
    EXPECT_EQ(lines[3].rfind("dark2.png,0.0980392,0.0980,OK,0,", 0), 0u) << lines[3];
    EXPECT_TRUE(fs::exists(dir_ / "overlays" / "b" / "bright.png"));
    EXPECT_TRUE(fs::exists(dir_ / "overlays" / "dark2.png"));

    fs::remove(dir_ / "parts" / "b" / "bright.png");
    const ProgramRun allOk =
        run(std::string(ANOMALY_INSPECT_FOLDER) + " --model " + quoted(model_) + " --dir " +
            quoted(dir_ / "parts") + " --csv " + quoted(csv));
    EXPECT_EQ(allOk.exitCode, 0) << allOk.output;

    const ProgramRun noFolder =
        run(std::string(ANOMALY_INSPECT_FOLDER) + " --model " + quoted(model_) + " --dir " +
            quoted(dir_ / "missing") + " --csv " + quoted(csv));
    EXPECT_EQ(noFolder.exitCode, 1) << noFolder.output;
}

TEST_F(SamplePrograms, InspectFolderKeepsOverlaysOfLinkedImagesInTheOverlayFolder)
{
    // A folder of symbolic links to images kept elsewhere: the overlays must go under --overlays
    // by the links' names, never beside the linked originals.
    const fs::path original = greyImage(dir_ / "originals" / "part.png", 204);
    fs::create_directories(dir_ / "links");
    fs::create_symlink(original, dir_ / "links" / "linked.png");
    const ProgramRun r = run(std::string(ANOMALY_INSPECT_FOLDER) + " --model " + quoted(model_) +
                             " --dir " + quoted(dir_ / "links") + " --csv " +
                             quoted(dir_ / "out.csv") + " --overlays " + quoted(dir_ / "overlays"));
    EXPECT_EQ(r.exitCode, 2) << r.output;
    EXPECT_TRUE(fs::exists(dir_ / "overlays" / "linked.png"));
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "originals"), fs::directory_iterator()),
              1);
    std::ifstream in(dir_ / "out.csv");
    std::string header, row;
    std::getline(in, header);
    std::getline(in, row);
    EXPECT_EQ(row.rfind("linked.png,0.8,", 0), 0u) << row;
}

TEST_F(SamplePrograms, VideoWritesEveryFrameWithoutWindow)
{
    const fs::path input = dir_ / "input.avi";
    {
        cv::VideoWriter writer(input.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 5,
                               cv::Size(64, 48));
        ASSERT_TRUE(writer.isOpened());
        for (int i = 0; i < 6; ++i)
            writer.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(i < 3 ? 40 : 220)));
    }
    const fs::path output = dir_ / "output.avi";
    const ProgramRun r = run(std::string(ANOMALY_VIDEO) + " --no-window --model " + quoted(model_) +
                             " --input " + quoted(input) + " --out " + quoted(output));
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("6 frames, 3 NG"), std::string::npos) << r.output;
    cv::VideoCapture written(output.string());
    ASSERT_TRUE(written.isOpened());
    int frames = 0;
    cv::Mat frame;
    while (written.read(frame))
        ++frames;
    EXPECT_EQ(frames, 6);
}

TEST_F(SamplePrograms, MinimalPrintsVerdict)
{
    const ProgramRun r = run(std::string(ANOMALY_MINIMAL) + " " + quoted(model_) + " " +
                             quoted(greyImage(dir_ / "bright.png", 204)));
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_EQ(r.output.rfind("NG", 0), 0u) << r.output;
}

TEST_F(SamplePrograms, LayerReportCountsMatMulOfTwoValuesByHand)
{
    // image x image (a MatMul of two graph values, as in the attention blocks) made OpenCV 4.6's
    // getFLOPS crash. Per image: [3,32,32] x [3,32,32] is 3*32*32 outputs of 32 multiply-adds,
    // 2*3*32^3 = 196,608 FLOPs (0.20 MFLOPs); the 1x1 conv 3->1 is 2*3*32*32 = 6,144 (0.01).
    opencv_test::TestModel m;
    const int64_t s = opencv_test::kTestModelSize;
    m.input("image", {-1, 3, s, s});
    m.node("MatMul", {"image", "image"}, {"product"});
    m.floatTensor("w_mean", {1, 3, 1, 1}, {1.f / 3, 1.f / 3, 1.f / 3});
    m.node("Conv", {"product", "w_mean"}, {"anomaly_map"},
           {opencv_test::TestAttr::list("kernel_shape", {1, 1})});
    m.output("anomaly_map", {-1, 1, s, s});
    opencv_test::addValidMetadata(m);
    const fs::path model = dir_ / "matmul.onnx";
    const std::vector<unsigned char> bytes = m.serialize();
    std::ofstream(model, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));

    const ProgramRun r =
        run(std::string(ANOMALY_LAYER_REPORT) + " --backend opencv --all --model " + quoted(model));
    ASSERT_EQ(r.exitCode, 0) << r.output;
    std::istringstream lines(r.output);
    bool sawMatMul = false, sawConv = false;
    for (std::string line; std::getline(lines, line);) {
        if (line.find("InnerProduct") != std::string::npos) {  // how 4.6 imports that MatMul
            sawMatMul = true;
            EXPECT_NE(line.find(" 0.20  native"), std::string::npos) << line;
        }
        if (line.find("Convolution") != std::string::npos) {
            sawConv = true;
            EXPECT_NE(line.find(" 0.01  native"), std::string::npos) << line;
        }
    }
    EXPECT_TRUE(sawMatMul && sawConv) << r.output;
    EXPECT_NE(r.output.find("0 of "), std::string::npos) << r.output;
}

}  // namespace
