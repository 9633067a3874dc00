// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "tool_main.hpp"

#include <opencv2/core.hpp>

#include <iostream>

namespace anomaly_samples {

int runTool(CommandLine& cli, int argc, const char* const* argv,
            const std::function<int(const CommandLine&)>& body, int usageExitCode)
{
    try {
        cli.parse(argc, argv);
        if (cli.helpRequested()) {
            std::cout << cli.usage();
            return 0;
        }
        return body(cli);
    } catch (const UsageError& e) {
        std::cerr << cli.program() << ": " << e.what() << "\n";
        return usageExitCode;
    } catch (const cv::Exception& e) {
        std::cerr << cli.program() << ": error: " << e.err << "\n";
        return kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << cli.program() << ": error: " << e.what() << "\n";
        return kExitFailure;
    }
}

}  // namespace anomaly_samples
