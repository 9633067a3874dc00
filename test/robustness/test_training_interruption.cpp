// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// A training run that is killed outright (SIGKILL: power loss, OOM killer) must leave the previous
// model untouched and a checkpoint that resumes; unreadable training images are named, and the run
// fails or skips them as the user chose.
#include "file_contents.hpp"
#include "program_run.hpp"
#include "testing/test_backbone.hpp"

#include <onnx_graph.hpp>
#include <opencv2/anomaly/local_global_flow.hpp>
#include <opencv2/imgcodecs.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace {

namespace fs = std::filesystem;
using anomaly_test::quoted;
using anomaly_test::run;

class TrainingInterruption : public ::testing::Test
{
protected:
    void SetUp() override
    {
        dir_ = fs::temp_directory_path() / ("anomaly_interrupt_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "good");
        cv::RNG rng(3);
        for (int i = 0; i < 10; ++i) {
            cv::Mat img(64, 64, CV_8UC3);
            rng.fill(img, cv::RNG::NORMAL, 128, 30);
            cv::imwrite((dir_ / "good" / cv::format("%02d.png", i)).string(), img);
        }
        backbone_ = dir_ / "backbone.onnx";
        anomaly_export::OnnxGraphBuilder(anomaly_train::makeTestBackbone(64, {8, 12, 16}, 3))
            .save(backbone_.string());
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string trainCommand(const fs::path& out, const std::string& extra) const
    {
        return std::string(ANOMALY_TRAIN_TOOL) + " --data " + quoted(dir_ / "good") +
               " --backbone " + quoted(backbone_) + " --out " + quoted(out) +
               " --threads 1 --holdout 0.2 --quiet " + extra;
    }

    fs::path dir_, backbone_;
};

TEST_F(TrainingInterruption, sigkill_keeps_the_previous_model_and_a_resumable_checkpoint)
{
    const fs::path out = dir_ / "model.onnx", ckpt = dir_ / "run.ckpt";
    ASSERT_EQ(run(trainCommand(out, "--epochs 1")).exitCode, 0);
    const std::string previous = anomaly_test::fileContents(out);
    ASSERT_FALSE(previous.empty());

    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c",
                ("exec " + trainCommand(out, "--epochs 100000 --checkpoint " + quoted(ckpt)) +
                 " 2>/dev/null")
                    .c_str(),
                (char*)nullptr);
        ::_exit(127);
    }
    for (int i = 0; i < 600 && !fs::exists(ckpt); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(fs::exists(ckpt));
    // Let it write a few more checkpoints, so the kill can land at any point of a write.
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));

    EXPECT_EQ(anomaly_test::fileContents(out), previous) << "the previous model was modified";
    // The kill may land mid-write and leave the dead writer's temporary; plant one for certain
    // (pid 1 never writes here, a pid past pid_max never exists) to check the next run clears it.
    const fs::path planted = dir_ / "run.ckpt.tmp.999999999";
    std::ofstream(planted) << "half a checkpoint";
    // The checkpoint is complete: resuming with a budget already reached exports a model.
    const auto resumed = run(trainCommand(out, "--epochs 1 --resume --checkpoint " + quoted(ckpt)));
    ASSERT_EQ(resumed.exitCode, 0) << resumed.output;
    EXPECT_NE(anomaly_test::fileContents(out), previous);
    for (const auto& entry : fs::directory_iterator(dir_))
        EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos)
            << "temporary file of a killed writer left behind: " << entry.path();
    EXPECT_EQ(cv::anomaly::LocalGlobalFlow::create(out.string())->getMethod(), "lgnf");
}

TEST_F(TrainingInterruption, unreadable_training_images_are_named_then_fail_or_skip)
{
    std::ofstream(dir_ / "good" / "broken.png") << "not a png";
    const fs::path out = dir_ / "model.onnx";
    const auto failed = run(trainCommand(out, "--epochs 1"));
    EXPECT_NE(failed.exitCode, 0);
    EXPECT_NE(failed.output.find("broken.png"), std::string::npos) << failed.output;
    EXPECT_FALSE(fs::exists(out));

    const auto skipped = run(trainCommand(out, "--epochs 1 --on-bad-image skip"));
    EXPECT_EQ(skipped.exitCode, 0) << skipped.output;
    EXPECT_NE(skipped.output.find("broken.png"), std::string::npos) << skipped.output;
    EXPECT_TRUE(fs::exists(out));
}

}  // namespace
