// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The main() of every command-line tool: parse, --help, run, and one-line failure messages with
// the exit codes the tools share.
#ifndef ANOMALY_SAMPLES_TOOL_MAIN_HPP
#define ANOMALY_SAMPLES_TOOL_MAIN_HPP

#include "command_line.hpp"

#include <functional>

namespace anomaly_samples {

/** @brief Exit code of a failure that is not a usage error (unreadable file or model, ...). */
constexpr int kExitFailure = 1;
/** @brief Exit code of a usage error, unless the tool names its own (see runTool). */
constexpr int kExitUsage = 2;

/** @brief Parses the command line and runs body, the tool's work.

"--help" prints cli.usage() on stdout and returns 0. Otherwise returns what body returns, so a
tool's own exit codes pass through, or, when parsing or body throws, prints one line on stderr and
returns:
- UsageError: "<program>: <message>", usageExitCode;
- cv::Exception: "<program>: error: <e.err>" (e.what() spans several lines), kExitFailure;
- any other std::exception: "<program>: error: <e.what()>", kExitFailure.

The message needs no leading newline: the tools' progress bars are objects in body whose
destructors end their line while the exception unwinds, before the message is printed.

@param usageExitCode for a tool whose body already returns kExitUsage with a meaning of its own.
*/
int runTool(CommandLine& cli, int argc, const char* const* argv,
            const std::function<int(const CommandLine&)>& body, int usageExitCode = kExitUsage);

}  // namespace anomaly_samples

#endif  // ANOMALY_SAMPLES_TOOL_MAIN_HPP
