// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Runs a command-line program from a test and captures its exit code and output.
#ifndef ANOMALY_TEST_PROGRAM_RUN_HPP
#define ANOMALY_TEST_PROGRAM_RUN_HPP

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace anomaly_test {

struct ProgramRun
{
    int exitCode = -1;
    std::string output;  // stdout and stderr together
};

inline ProgramRun run(const std::string& command)
{
    ProgramRun result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe)
        return result;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0)
        result.output.append(buffer, n);
    const int status = ::pclose(pipe);
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

inline std::string quoted(const std::filesystem::path& path)
{
    return "'" + path.string() + "'";
}

}  // namespace anomaly_test

#endif  // ANOMALY_TEST_PROGRAM_RUN_HPP
