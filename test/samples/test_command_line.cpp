// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// CommandLine, the "--name value" reader shared by the samples and the export tools.
#include "command_line.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using anomaly_samples::CommandLine;
using anomaly_samples::UsageError;

CommandLine makeCommandLine()
{
    return CommandLine("tool", "does things",
                       {{"in", "", "input file", true},
                        {"epochs", "8", "passes"},
                        {"lr", "0.001", "learning rate"},
                        {"files", "a.onnx", "comma-separated files"},
                        {"quiet", "", "no progress bar", false, true}});
}

CommandLine parsed(std::vector<const char*> args)
{
    args.insert(args.begin(), "tool");
    CommandLine cli = makeCommandLine();
    cli.parse(int(args.size()), args.data());
    return cli;
}

TEST(CommandLine, ValuesDefaultsAndFlags)
{
    const CommandLine cli = parsed({"--in", "x.png", "--epochs=3", "--quiet"});
    EXPECT_EQ(cli.get("in"), "x.png");
    EXPECT_EQ(cli.getInt("epochs", 1), 3);
    EXPECT_DOUBLE_EQ(cli.getDouble("lr"), 0.001);  // default
    EXPECT_EQ(cli.get("quiet"), "1");
    EXPECT_TRUE(cli.has("epochs"));
    EXPECT_FALSE(cli.has("lr"));
    EXPECT_EQ(cli.getList("files"), std::vector<std::string>{"a.onnx"});
}

TEST(CommandLine, MistakesAreUsageErrors)
{
    EXPECT_THROW(parsed({}), UsageError);                             // --in required
    EXPECT_THROW(parsed({"--in", "x", "--bogus", "1"}), UsageError);  // unknown option
    EXPECT_THROW(parsed({"--in"}), UsageError);                       // missing value
    EXPECT_THROW(parsed({"--in", "x", "stray"}), UsageError);         // positional
    EXPECT_THROW(parsed({"--in", "x", "--quiet=1"}), UsageError);     // flag with a value
    EXPECT_TRUE(parsed({"--help"}).helpRequested());                  // no required check
}

TEST(CommandLine, IntegerMinimum)
{
    EXPECT_EQ(parsed({"--in", "x", "--epochs", "1"}).getInt("epochs", 1), 1);
    EXPECT_THROW(parsed({"--in", "x", "--epochs", "0"}).getInt("epochs", 1), UsageError);
    EXPECT_THROW(parsed({"--in", "x", "--epochs", "2.5"}).getInt("epochs"), UsageError);
    EXPECT_THROW(parsed({"--in", "x", "--epochs", "99999999999"}).getInt("epochs"), UsageError);
    EXPECT_EQ(parsed({"--in", "x", "--epochs", "-4"}).getInt("epochs"), -4);  // no minimum given
}

TEST(CommandLine, NumbersRefuseTextAndNonFinite)
{
    EXPECT_DOUBLE_EQ(parsed({"--in", "x", "--lr", "2e-3"}).getDouble("lr"), 0.002);
    for (const char* bad : {"fast", "1e999", "nan", "inf", "0.1x", ""})
        EXPECT_THROW(parsed({"--in", "x", "--lr", bad}).getDouble("lr"), UsageError) << bad;
}

TEST(CommandLine, ListsSplitAtCommasAndRefuseEmptyItems)
{
    EXPECT_EQ(parsed({"--in", "x", "--files", "a.onnx,b.onnx,c"}).getList("files"),
              (std::vector<std::string>{"a.onnx", "b.onnx", "c"}));
    for (const char* bad : {"a.onnx,", ",a.onnx", "a,,b", ""})
        EXPECT_THROW(parsed({"--in", "x", "--files", bad}).getList("files"), UsageError) << bad;
}

}  // namespace
