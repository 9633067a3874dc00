// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The anomaly_train tool end to end: a model the runtime loads, and SIGTERM -> checkpoint, no
// model.
#include "test_helpers.hpp"
#include "testing/test_backbone.hpp"

#include <gtest/gtest.h>
#include <onnx_graph.hpp>
#include <opencv2/anomaly/local_global_flow.hpp>
#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/imgcodecs.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace {

struct Workspace
{
    std::string dir, images, backbone;
    Workspace(const std::string& name)
    {
        dir = ::testing::TempDir() + "/" + name + "_" + std::to_string(::getpid());
        images = dir + "/good";
        cv::utils::fs::createDirectories(images);
        const auto pictures = makeTextureImages(12, 64, 8);
        for (size_t i = 0; i < pictures.size(); ++i)
            cv::imwrite(images + cv::format("/%03zu.png", i), pictures[i]);
        backbone = dir + "/backbone.onnx";
        anomaly_export::OnnxGraphBuilder(anomaly_train::makeTestBackbone(64, {8, 12, 16}, 3))
            .save(backbone);
    }
    ~Workspace() { cv::utils::fs::remove_all(dir); }
};

bool exists(const std::string& path)
{
    return ::access(path.c_str(), F_OK) == 0;
}

int runTool(const std::vector<std::string>& args)
{
    std::string command = ANOMALY_TRAIN_TOOL;
    for (const auto& a : args)
        command += " '" + a + "'";
    const int status = std::system((command + " 2>/dev/null").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/** Trains on w's images (one thread, quiet) into w.dir/model.onnx; returns the exit status. */
int trainQuietly(const Workspace& w, const std::string& epochs, const std::string& holdout)
{
    return runTool({"--data", w.images, "--backbone", w.backbone, "--out", w.dir + "/model.onnx",
                    "--epochs", epochs, "--threads", "1", "--holdout", holdout, "--quiet"});
}

/** Starts the tool, waits (up to 60 s) until `file` exists, then sends SIGTERM, or with
`repeatUntilExit` SIGTERMs as fast as it can until the tool has exited. Returns the exit status, or
-1 when the file never appeared or the tool did not exit normally. */
int terminateWhenWritten(const std::vector<std::string>& args, const std::string& file,
                         bool repeatUntilExit = false)
{
    const pid_t pid = ::fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        ::freopen("/dev/null", "w", stderr);
        std::vector<char*> argv{const_cast<char*>(ANOMALY_TRAIN_TOOL)};
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(ANOMALY_TRAIN_TOOL, argv.data());
        ::_exit(127);
    }
    for (int i = 0; i < 600 && !exists(file); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const bool written = exists(file);
    int status = 0;
    ::kill(pid, SIGTERM);
    if (repeatUntilExit) {
        while (::waitpid(pid, &status, WNOHANG) == 0) {
            std::this_thread::yield();
            ::kill(pid, SIGTERM);
        }
    } else {
        ::waitpid(pid, &status, 0);
    }
    return written && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(TrainTool, WritesAModelTheRuntimeLoads)
{
    Workspace w("cli_model");
    const std::string out = w.dir + "/model.onnx";
    ASSERT_EQ(trainQuietly(w, "2", "0.25"), 0);
    auto detector = cv::anomaly::LocalGlobalFlow::create(out);
    EXPECT_EQ(detector->getMethod(), "lgnf");
    EXPECT_EQ(detector->getModelSize(), "lite");
    EXPECT_EQ(detector->getBackbone(), "test_random");
    EXPECT_TRUE(detector->hasLocalGlobalMaps());
    EXPECT_TRUE(detector->hasStatisticsScore());
    EXPECT_EQ(detector->getFormatVersion(), "1.10");
    EXPECT_EQ(detector->getMetadata("anomaly.calibration"), "quantile:0.995");
    // Thresholds were calibrated: a normalised score of a good image lies in [0, 1].
    for (const auto& p : {"/000.png", "/001.png", "/002.png"}) {
        cv::anomaly::AnomalyResult r;
        detector->detect(cv::imread(w.images + p), r);
        EXPECT_GE(r.normalizedScore, 0.f);
        EXPECT_LE(r.normalizedScore, 1.f);
    }
    EXPECT_FALSE(exists(out + ".ckpt"));  // removed after a successful run
}

TEST(TrainTool, CalibratesOnTheTrainingImagesWithHoldoutZero)
{
    Workspace w("cli_holdout0");
    ASSERT_EQ(trainQuietly(w, "1", "0"), 0);
    auto detector = cv::anomaly::LocalGlobalFlow::create(w.dir + "/model.onnx");
    // All 12 images trained on, none held out (the calibration used the training images).
    const std::string summary = detector->getMetadata("anomaly.training.summary");
    EXPECT_NE(summary.find("{\"images\":12,\"holdout\":0,"), std::string::npos) << summary;
    EXPECT_EQ(detector->getMetadata("anomaly.calibration"), "quantile:0.995");
}

TEST(TrainTool, RejectsBadArgumentsWithAMessage)
{
    EXPECT_EQ(
        runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y", "--preset", "nope"}),
        2);
    EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y",
                       "--statistics-score", "maybe"}),
              2);
    EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y", "--flow-input",
                       "sideways"}),
              2);
    // A setting of lgnf's flows, meaningless for the other presets: refused, not ignored.
    EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y", "--preset",
                       "dadf", "--flow-input", "absdiff"}),
              2);
    EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y", "--preset",
                       "lgfdr", "--flow-scales", "16"}),
              2);
    for (const char* scales : {"", "32", "16,8", "8,8", "4,,16", "8,16,"})
        EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y",
                           "--flow-scales", scales}),
                  2)
            << "--flow-scales '" << scales << "'";
    for (const char* window : {"4", "-1", "x"})
        EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y",
                           "--context-window", window}),
                  2)
            << "--context-window '" << window << "'";
    for (const char* count : {"-1", "x"})
        EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y",
                           "--synthetic-defects", count}),
                  2)
            << "--synthetic-defects '" << count << "'";
    // Epochs of a segmentation head that is not trained: refused, not ignored.
    EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y",
                       "--segmentation-epochs", "3"}),
              2);
    EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y",
                       "--synthetic-defects", "2", "--segmentation-epochs", "0"}),
              2);
    EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y",
                       "--segmentation-weight", "2"}),
              2);
    EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y", "--band-edges",
                       "top-bottom"}),
              2);
    for (const char* edges : {"", "top", "vertical", "x"})
        EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y",
                           "--synthetic-defects", "2", "--band-edges", edges}),
                  2)
            << "--band-edges '" << edges << "'";
    for (const char* weight : {"0", "-1", "nan", "x"})
        EXPECT_EQ(runTool({"--data", "/nonexistent", "--backbone", "x", "--out", "y",
                           "--synthetic-defects", "2", "--segmentation-weight", weight}),
                  2)
            << "--segmentation-weight '" << weight << "'";
    EXPECT_NE(runTool({"--data", "/nonexistent", "--backbone", "/nonexistent.onnx", "--out",
                       "/tmp/never.onnx"}),
              0);
}

TEST(TrainTool, SigtermWritesACheckpointAndNoModelAndResumeFinishes)
{
    Workspace w("cli_signal");
    const std::string out = w.dir + "/model.onnx", ckpt = w.dir + "/run.ckpt";
    // Stopped once the first epoch's checkpoint is written.
    EXPECT_GT(terminateWhenWritten(
                  {"--data", w.images, "--backbone", w.backbone, "--out", out, "--checkpoint", ckpt,
                   "--epochs", "100000", "--threads", "1", "--quiet"},
                  ckpt),
              0);
    EXPECT_TRUE(exists(ckpt));
    EXPECT_FALSE(exists(out));
    // Resuming with a small epoch budget that is already reached exports the model.
    EXPECT_EQ(runTool({"--data", w.images, "--backbone", w.backbone, "--out", out, "--checkpoint",
                       ckpt, "--epochs", "1", "--threads", "1", "--resume", "--quiet"}),
              0);
    EXPECT_TRUE(exists(out));
}

TEST(TrainTool, RepeatedSigtermsWhileSegmentingStopTheToolCleanly)
{
    // A signal delivered on a thread inside oneDNN's convolution kernels corrupted the heap. Before
    // the tool took the signals on a thread of their own (export/train/stop_signals.hpp), 1 to 6 of
    // these 8 runs died of SIGABRT in every one of 13 tries of this test; none has since.
    Workspace w("cli_sigterms");
    const std::string out = w.dir + "/model.onnx", ckpt = w.dir + "/run.ckpt",
                      segmentationCkpt = ckpt + ".segmentation";
    for (int run = 0; run < 8; ++run) {
        std::remove(ckpt.c_str());
        std::remove(segmentationCkpt.c_str());
        EXPECT_EQ(
            terminateWhenWritten({"--data", w.images, "--backbone", w.backbone, "--out", out,
                                  "--checkpoint", ckpt, "--epochs", "1", "--synthetic-defects", "2",
                                  "--segmentation-epochs", "100000", "--threads", "1", "--quiet"},
                                 segmentationCkpt, true),
            130)
            << "run " << run;
        EXPECT_TRUE(exists(ckpt));
        EXPECT_FALSE(exists(out));
    }
}

TEST(TrainTool, SigtermWhileSegmentingKeepsBothCheckpointsAndResumeFinishes)
{
    Workspace w("cli_segment");
    const std::string out = w.dir + "/model.onnx", ckpt = w.dir + "/run.ckpt",
                      segmentationCkpt = ckpt + ".segmentation";
    // The head's single epoch done, stopped once the segmentation head's first epoch is written.
    EXPECT_GT(
        terminateWhenWritten({"--data", w.images, "--backbone", w.backbone, "--out", out,
                              "--checkpoint", ckpt, "--epochs", "1", "--synthetic-defects", "2",
                              "--segmentation-epochs", "100000", "--threads", "1", "--quiet"},
                             segmentationCkpt),
        0);
    EXPECT_TRUE(exists(ckpt));
    EXPECT_FALSE(exists(out));
    EXPECT_EQ(runTool({"--data", w.images, "--backbone", w.backbone, "--out", out, "--checkpoint",
                       ckpt, "--epochs", "1", "--synthetic-defects", "2", "--segmentation-epochs",
                       "1", "--threads", "1", "--resume", "--quiet"}),
              0);
    ASSERT_TRUE(exists(out));
    EXPECT_FALSE(exists(ckpt));
    EXPECT_FALSE(exists(segmentationCkpt));
    const std::string summary =
        cv::anomaly::LocalGlobalFlow::create(out)->getMetadata("anomaly.training.summary");
    // Blurred uniform noise has no grain: bands from all four edges.
    EXPECT_NE(summary.find("\"synthetic_defects\":2,\"band_edges\":\"all\""), std::string::npos)
        << summary;
}

}  // namespace
