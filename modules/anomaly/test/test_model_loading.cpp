// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "test_precomp.hpp"

#include "test_models.hpp"

#include <cstdio>
#include <fstream>

namespace opencv_test {
namespace {

// Expects create to throw a cv::Exception whose message contains `needle`.
template <typename Create>
void expectLoadError(Create create, const std::string& needle)
{
    try {
        create();
        ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
    } catch (const cv::Exception& e) {
        EXPECT_NE(e.what(), nullptr);
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
            << "message was: " << e.what();
    }
}

std::string writeTemp(const std::string& name, const std::vector<unsigned char>& bytes)
{
    const std::string path = ::testing::TempDir() + name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    return path;
}

TEST(Anomaly_ModelLoading, loads_a_valid_file_from_disk)
{
    const std::string path = writeTemp("valid_model.onnx", channelMixModel().serialize());
    auto detector = LocalGlobalFlow::create(path);
    EXPECT_EQ(detector->getMethod(), "lgnf");
    std::remove(path.c_str());
}

TEST(Anomaly_ModelLoading, missing_file_names_the_path)
{
    expectLoadError([] { LocalGlobalFlow::create("/nonexistent/dir/model.onnx"); },
                    "/nonexistent/dir/model.onnx");
}

TEST(Anomaly_ModelLoading, empty_file_is_refused)
{
    const std::string path = writeTemp("empty_model.onnx", {});
    expectLoadError([&] { LocalGlobalFlow::create(path); }, "empty");
    std::remove(path.c_str());
}

TEST(Anomaly_ModelLoading, truncated_files_are_refused_at_every_cut)
{
    const std::vector<unsigned char> bytes = channelMixModel().serialize();
    // Every cut point, including ones that fall on protobuf field boundaries (those parse as a
    // shorter message and must then fail on the missing graph or metadata).
    for (size_t cut = 0; cut + 1 < bytes.size(); cut += 7) {
        std::vector<unsigned char> part(bytes.begin(), bytes.begin() + cut);
        EXPECT_THROW(LocalGlobalFlow::createFromBuffer(part), cv::Exception) << "cut at " << cut;
    }
}

TEST(Anomaly_ModelLoading, random_bytes_are_refused)
{
    RNG rng(2024);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<unsigned char> bytes(1 + rng.uniform(0, 4096));
        for (auto& b : bytes)
            b = uchar(rng.uniform(0, 256));
        EXPECT_THROW(LocalGlobalFlow::createFromBuffer(bytes), cv::Exception) << "trial " << trial;
    }
}

TEST(Anomaly_ModelLoading, other_major_format_version_is_refused_with_both_versions)
{
    TestModel m = channelMixModel();
    m.metadata("anomaly.format_version", "2.0");
    expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize()); }, "2.0");
    expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize()); }, "1.x");
    m.metadata("anomaly.format_version", "1.10");  // newer minor: accepted
    EXPECT_EQ(LocalGlobalFlow::createFromBuffer(m.serialize())->getFormatVersion(), "1.10");
}

TEST(Anomaly_ModelLoading, each_missing_required_key_is_named)
{
    const char* required[] = {"anomaly.format_version",
                              "anomaly.input_width",
                              "anomaly.input_height",
                              "anomaly.color_order",
                              "anomaly.mean",
                              "anomaly.std",
                              "anomaly.method",
                              "anomaly.model_size",
                              "anomaly.backbone",
                              "anomaly.threshold.image",
                              "anomaly.threshold.pixel",
                              "anomaly.normalization.image",
                              "anomaly.normalization.pixel",
                              "anomaly.score.reduction",
                              "anomaly.map.smoothing_sigma",
                              "anomaly.training.summary"};
    for (const char* key : required) {
        TestModel m = channelMixModel();
        m.eraseMetadata(key);
        expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize()); },
                        std::string("'") + key + "'");
    }
}

TEST(Anomaly_ModelLoading, malformed_values_are_named)
{
    const std::pair<const char*, const char*> bad[] = {{"anomaly.input_width", "-3"},
                                                       {"anomaly.mean", "0,0"},
                                                       {"anomaly.std", "1,0,1"},
                                                       {"anomaly.color_order", "YUV"},
                                                       {"anomaly.method", "patchcore"},
                                                       {"anomaly.threshold.image", "high"},
                                                       {"anomaly.normalization.image", "1,0"},
                                                       {"anomaly.score.reduction", "median"},
                                                       {"anomaly.map.smoothing_sigma", "nan"}};
    for (const auto& kv : bad) {
        TestModel m = channelMixModel();
        m.metadata(kv.first, kv.second);
        expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize()); }, kv.first);
    }
}

TEST(Anomaly_ModelLoading, model_without_anomaly_map_output_is_refused)
{
    TestModel m;
    m.input("image", {-1, 3, kTestModelSize, kTestModelSize});
    m.floatTensor("w", {1, 3, 1, 1}, {1.f, 1.f, 1.f});
    m.node("Conv", {"image", "w"}, {"score_map"}, {TestAttr::list("kernel_shape", {1, 1})});
    m.output("score_map", {-1, 1, kTestModelSize, kTestModelSize});
    addValidMetadata(m);
    expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize()); }, "anomaly_map");
}

TEST(Anomaly_ModelLoading, model_without_opsets_is_refused)
{
    TestModel m = channelMixModel();
    expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize(/*irVersion=*/2)); },
                    "ir_version");
}

TEST(Anomaly_ModelLoading, structurally_broken_graphs_are_refused_before_opencv_sees_them)
{
    // Each of these crashed or could crash OpenCV 4.6's importer (found by fuzz_model_load).
    const int64_t s = kTestModelSize;
    {
        TestModel m;  // node input that nothing defines
        m.input("image", {-1, 3, s, s});
        m.node("Conv", {"image", "w_missing"}, {"anomaly_map"},
               {TestAttr::list("kernel_shape", {1, 1})});
        m.output("anomaly_map", {-1, 1, s, s});
        addValidMetadata(m);
        expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize()); }, "w_missing");
    }
    {
        TestModel m;  // initializer whose data disagrees with its dims
        m.input("image", {-1, 3, s, s});
        m.floatTensor("w", {1, 3, 1, 1}, {1.f, 1.f});
        m.node("Conv", {"image", "w"}, {"anomaly_map"}, {TestAttr::list("kernel_shape", {1, 1})});
        m.output("anomaly_map", {-1, 1, s, s});
        addValidMetadata(m);
        expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize()); },
                        "holds 2 values");
    }
    {
        TestModel m;  // empty convolution weight: OpenCV 4.6's importer divided by zero
        m.input("image", {-1, 3, s, s});
        m.floatTensor("w", {1, 3, 1, 1, 0}, {});
        m.node("Conv", {"image", "w"}, {"anomaly_map"}, {TestAttr::list("kernel_shape", {1, 1})});
        m.output("anomaly_map", {-1, 1, s, s});
        addValidMetadata(m);
        expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize()); },
                        "empty initializer 'w'");
    }
    {
        TestModel m;  // graph output no node computes
        m.input("image", {-1, 3, s, s});
        m.floatTensor("w", {1, 3, 1, 1}, {1.f, 1.f, 1.f});
        m.node("Conv", {"image", "w"}, {"other"}, {TestAttr::list("kernel_shape", {1, 1})});
        m.output("anomaly_map", {-1, 1, s, s});
        addValidMetadata(m);
        expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize()); }, "not computed");
    }
    {
        TestModel m;  // duplicate output names
        m.input("image", {-1, 3, s, s});
        m.floatTensor("w", {1, 3, 1, 1}, {1.f, 1.f, 1.f});
        m.node("Conv", {"image", "w"}, {"anomaly_map"}, {TestAttr::list("kernel_shape", {1, 1})});
        m.node("Relu", {"anomaly_map"}, {"anomaly_map"});
        m.output("anomaly_map", {-1, 1, s, s});
        addValidMetadata(m);
        expectLoadError([&] { LocalGlobalFlow::createFromBuffer(m.serialize()); }, "duplicate");
    }
}

TEST(Anomaly_ModelLoading, image_input_of_another_shape_is_refused_with_both_shapes)
{
    // The first case is fuzz_model_load's find: a rank-1 input made OpenCV 4.6's importer throw
    // std::length_error past every cv::Exception handler.
    const int64_t s = kTestModelSize;
    const auto modelWithInput = [&](const std::string& name, const std::vector<int64_t>& shape) {
        TestModel m;
        m.input(name, shape);
        m.floatTensor("w", {1, 3, 1, 1}, {1.f, 1.f, 1.f});
        m.node("Conv", {name, "w"}, {"anomaly_map"}, {TestAttr::list("kernel_shape", {1, 1})});
        m.output("anomaly_map", {-1, 1, s, s});
        addValidMetadata(m);
        return m.serialize();
    };
    expectLoadError([&] { LocalGlobalFlow::createFromBuffer(modelWithInput("image", {-1})); },
                    "has shape [N], expected [N,3,32,32]");
    expectLoadError(
        [&] {
            LocalGlobalFlow::createFromBuffer(modelWithInput("image", {-1, 3, s, s + 1}));
        },
        "has shape [N,3,32,33]");
    expectLoadError(
        [&] {
            LocalGlobalFlow::createFromBuffer(modelWithInput("image", {-1, 1, s, s}));
        },
        "has shape [N,1,32,32]");
    expectLoadError(
        [&] {
            LocalGlobalFlow::createFromBuffer(modelWithInput("pixels", {-1, 3, s, s}));
        },
        "'pixels' is not 'image'");
    // A fixed batch size is allowed (dimension 0 is the only one that may be symbolic).
    EXPECT_NO_THROW(LocalGlobalFlow::createFromBuffer(modelWithInput("image", {1, 3, s, s})));
}

TEST(Anomaly_ModelLoading, net_reader_turns_standard_exceptions_into_cv_exception)
{
    // fuzz_model_load-crash-3eca929 (2026-11-23), given straight to the reader without
    // LocalGlobalFlow's shape check: OpenCV 4.6 throws std::length_error on it.
    const int64_t s = kTestModelSize;
    TestModel m;
    m.input("image", {-1});
    m.floatTensor("w_mean", {1, 3, 1, 1}, {1.f / 3, 1.f / 3, 1.f / 3});
    m.node("Conv", {"image", "w_mean"}, {"anomaly_map"}, {TestAttr::list("kernel_shape", {1, 1})});
    m.output("anomaly_map", {-1, 1, s, s});
    addValidMetadata(m);
    EXPECT_THROW(readNetWithCustomLayers(m.serialize()), cv::Exception)
        << "readNetWithCustomLayers must turn OpenCV's std::length_error into cv::Exception";
}

TEST(Anomaly_ModelLoading, bad_statistics_score_outputs_are_refused)
{
    // NaN: max(map score, NaN) would silently drop the statistics.
    expectLoadError(
        [] {
            LocalGlobalFlow::createFromBuffer(
                statisticsScoreModel(std::numeric_limits<float>::quiet_NaN()).serialize());
        },
        "NaN");
    // [N,1,2,2] instead of one value per image.
    expectLoadError(
        [] {
            LocalGlobalFlow::createFromBuffer(
                statisticsScoreModel(2.f, kTestModelSize / 2).serialize());
        },
        "statistics_score is not [N,1,1,1]");
}

}  // namespace
}  // namespace opencv_test
