// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Loading a model with custom-domain nodes: no per-node importer warning, and the user's log level
// is restored, also when several threads load at once.
#include "test_precomp.hpp"

#include "test_models.hpp"

#include <opencv2/core/utils/logger.hpp>

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace opencv_test {
namespace {

namespace logging = cv::utils::logging;

/** The channel-mix model's anomaly map computed through a custom-domain LayerNorm node. */
std::vector<uchar> customDomainModel()
{
    TestModel m;
    m.useCustomDomain();
    const int64_t s = kTestModelSize;
    m.input("image", {-1, 3, s, s});
    m.floatTensor("gamma", {3}, {1.f, 1.f, 1.f});
    m.floatTensor("beta", {3}, {0.f, 0.f, 0.f});
    m.node("LayerNorm", {"image", "gamma", "beta"}, {"normalized"},
           {TestAttr::real("epsilon", 1e-5f)}, "org.opencv.anomaly");
    m.floatTensor("w_mean", {1, 3, 1, 1}, {1.f / 3, 1.f / 3, 1.f / 3});
    m.node("Conv", {"normalized", "w_mean"}, {"anomaly_map"},
           {TestAttr::list("kernel_shape", {1, 1})});
    m.output("anomaly_map", {-1, 1, s, s});
    addValidMetadata(m);
    return m.serialize();
}

/** Everything written to stderr (file descriptor 2) while read() runs. */
template <typename Read>
std::string stderrDuring(Read read)
{
    std::fflush(stderr);
    std::cerr.flush();
    char path[] = "/tmp/anomaly_stderr_XXXXXX";
    const int capture = ::mkstemp(path);
    EXPECT_GE(capture, 0);
    const int saved = ::dup(2);
    ::dup2(capture, 2);
    read();
    std::cerr.flush();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    ::close(capture);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::remove(path);
    return text.str();
}

class Anomaly_OnnxNetReader : public ::testing::Test
{
protected:
    void SetUp() override
    {
        registerCustomLayers();  // so that the plain importer below can run the model too
        previous_ = logging::setLogLevel(logging::LOG_LEVEL_WARNING);
    }
    void TearDown() override { logging::setLogLevel(previous_); }
    logging::LogLevel previous_ = logging::LOG_LEVEL_WARNING;
};

TEST_F(Anomaly_OnnxNetReader, custom_domain_nodes_load_without_importer_warnings)
{
    const std::vector<uchar> bytes = customDomainModel();
    const std::string plain = stderrDuring([&] { dnn::readNetFromONNX(bytes); });
    Ptr<LocalGlobalFlow> detector;
    const std::string quiet =
        stderrDuring([&] { detector = LocalGlobalFlow::createFromBuffer(bytes); });
    EXPECT_FALSE(detector.empty());
    EXPECT_EQ(quiet.find("missing dispatch map"), std::string::npos) << quiet;
    // OpenCV 4.6 warns once per custom-domain node; later versions may not warn at all.
    if (plain.find("missing dispatch map") == std::string::npos)
        std::cout << "[ INFO ] this OpenCV does not warn about custom domains" << std::endl;
}

TEST_F(Anomaly_OnnxNetReader, the_callers_log_level_is_restored)
{
    const std::vector<uchar> bytes = customDomainModel();
    for (const logging::LogLevel level :
         {logging::LOG_LEVEL_WARNING, logging::LOG_LEVEL_INFO, logging::LOG_LEVEL_ERROR}) {
        logging::setLogLevel(level);
        EXPECT_FALSE(LocalGlobalFlow::createFromBuffer(bytes).empty());
        EXPECT_EQ(logging::getLogLevel(), level);
    }
}

TEST_F(Anomaly_OnnxNetReader, concurrent_loads_restore_the_log_level)
{
    const std::vector<uchar> bytes = customDomainModel();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 5; ++i)
                LocalGlobalFlow::createFromBuffer(bytes);
        });
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(logging::getLogLevel(), logging::LOG_LEVEL_WARNING);
}

}  // namespace
}  // namespace opencv_test
