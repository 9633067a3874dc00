// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// writeFileAtomically: readers see the old or the whole new file, and temporaries left by writers
// that were killed are cleared while those of running writers are kept.
#include "atomic_file.hpp"
#include "file_contents.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace {

namespace fs = std::filesystem;

class AtomicFile : public ::testing::Test
{
protected:
    void SetUp() override
    {
        dir_ = fs::temp_directory_path() / ("anomaly_atomic_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        target_ = dir_ / "model.onnx";
        std::ofstream(target_) << "old";
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_, target_;
};

TEST_F(AtomicFile, ReplacesTheFileAndClearsOnlyDeadWritersTemporaries)
{
    // pid_max is at most 2^22, so 999999999 is a writer that cannot be alive; our parent is.
    const fs::path dead = dir_ / "model.onnx.tmp.999999999";
    const fs::path alive = dir_ / ("model.onnx.tmp." + std::to_string(::getppid()));
    const fs::path otherFile = dir_ / "other.onnx.tmp.999999999";
    for (const auto& p : {dead, alive, otherFile})
        std::ofstream(p) << "partial";

    anomaly_samples::writeFileAtomically(
        target_.string(), [](const std::string& temporary) { std::ofstream(temporary) << "new"; });

    EXPECT_EQ(anomaly_test::fileContents(target_), "new");
    EXPECT_FALSE(fs::exists(dead));
    EXPECT_TRUE(fs::exists(alive));
    EXPECT_TRUE(fs::exists(otherFile));
    EXPECT_FALSE(fs::exists(target_.string() + ".tmp." + std::to_string(::getpid())));
}

TEST_F(AtomicFile, AFailedWriteKeepsTheOldFileAndLeavesNoTemporary)
{
    EXPECT_THROW(anomaly_samples::writeFileAtomically(target_.string(),
                                                      [](const std::string& temporary) {
                                                          std::ofstream(temporary) << "ne";
                                                          throw std::runtime_error("disk full");
                                                      }),
                 std::runtime_error);
    EXPECT_EQ(anomaly_test::fileContents(target_), "old");
    size_t files = 0;
    for (const auto& entry : fs::directory_iterator(dir_)) {
        (void)entry;
        ++files;
    }
    EXPECT_EQ(files, 1u);
}

TEST_F(AtomicFile, AMissingFolderIsNamedInTheError)
{
    const std::string path = (dir_ / "no_such_folder" / "model.onnx").string();
    try {
        anomaly_samples::writeFileAtomically(path, [](const std::string& temporary) {
            std::ofstream out(temporary);
            if (!out)
                throw std::runtime_error("cannot write " + temporary);
        });
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("no_such_folder"), std::string::npos) << e.what();
    }
}

}  // namespace
