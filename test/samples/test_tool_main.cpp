// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// runTool, the main() every command-line tool shares: exit codes and one-line messages.
#include "tool_main.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using anomaly_samples::CommandLine;
using anomaly_samples::UsageError;

struct ToolRun
{
    int exitCode = -1;
    std::string out, err;
};

ToolRun runWith(std::vector<const char*> args, const std::function<int(const CommandLine&)>& body,
                int usageExitCode = anomaly_samples::kExitUsage)
{
    args.insert(args.begin(), "tool");
    CommandLine cli("tool", "does things", {{"in", "", "input file", true}});
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    ToolRun r;
    r.exitCode = anomaly_samples::runTool(cli, int(args.size()), args.data(), body, usageExitCode);
    r.err = testing::internal::GetCapturedStderr();
    r.out = testing::internal::GetCapturedStdout();
    return r;
}

int succeed(const CommandLine&)
{
    return 0;
}

TEST(RunTool, HelpPrintsUsageOnStdoutAndSkipsTheBody)
{
    bool ran = false;
    const ToolRun r = runWith({"--help"}, [&](const CommandLine&) {
        ran = true;
        return 0;
    });
    EXPECT_FALSE(ran);
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_EQ(r.out.rfind("tool: does things", 0), 0u) << r.out;
    EXPECT_EQ(r.err, "");
}

TEST(RunTool, TheBodysExitCodePassesThrough)
{
    EXPECT_EQ(runWith({"--in", "x"}, succeed).exitCode, 0);
    const ToolRun r = runWith({"--in", "x"}, [](const CommandLine& cli) {
        EXPECT_EQ(cli.get("in"), "x");
        return 2;  // a tool's own meaning, e.g. "NG found"
    });
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_EQ(r.err, "");
}

TEST(RunTool, UsageErrorsFromParsingOrBodyExitTwoWithOneLine)
{
    const ToolRun unknown = runWith({"--in", "x", "--bogus"}, succeed);
    EXPECT_EQ(unknown.exitCode, 2);
    EXPECT_EQ(unknown.err, "tool: unknown option --bogus (see --help)\n");
    const ToolRun fromBody =
        runWith({"--in", "x"}, [](const CommandLine&) -> int { throw UsageError("--in: bad"); });
    EXPECT_EQ(fromBody.exitCode, 2);
    EXPECT_EQ(fromBody.err, "tool: --in: bad\n");
    // A tool whose own results use 2 names another code for usage errors.
    EXPECT_EQ(runWith({}, succeed, anomaly_samples::kExitFailure).exitCode, 1);
}

TEST(RunTool, OtherFailuresExitOneWithOneErrorLine)
{
    const ToolRun runtime = runWith(
        {"--in", "x"}, [](const CommandLine&) -> int { throw std::runtime_error("no file x"); });
    EXPECT_EQ(runtime.exitCode, 1);
    EXPECT_EQ(runtime.err, "tool: error: no file x\n");
    // cv::Exception's what() spans lines (file, line, function); the message alone is printed.
    const ToolRun opencv = runWith({"--in", "x"}, [](const CommandLine&) -> int {
        CV_Error(cv::Error::StsError, "bad model");
    });
    EXPECT_EQ(opencv.exitCode, 1);
    EXPECT_EQ(opencv.err, "tool: error: bad model\n");
}

}  // namespace
