// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "test_precomp.hpp"

#include "test_models.hpp"

namespace opencv_test {
namespace {

TEST(Anomaly_OnnxHeader, reads_ir_version_opsets_and_metadata)
{
    TestModel m = channelMixModel();
    m.useCustomDomain();
    const OnnxModelHeader h = parseOnnxModelHeader(m.serialize(8));
    EXPECT_EQ(h.irVersion, 8);
    ASSERT_EQ(h.opsetImports.size(), 2u);
    EXPECT_EQ(h.opsetImports.at(""), 13);
    EXPECT_EQ(h.opsetImports.at("org.opencv.anomaly"), 1);
    EXPECT_EQ(h.metadata.at("anomaly.format_version"), "1.0");
    EXPECT_EQ(h.metadata.at("anomaly.training.summary"), "{\"images\":0}");
    EXPECT_EQ(h.metadata.size(), 16u);
}

TEST(Anomaly_OnnxHeader, hand_encoded_bytes)
{
    // ir_version = 300 (field 1, varint 0xAC 0x02), metadata {"k": "v"} (field 14, wire 2).
    const std::vector<uchar> bytes = {0x08, 0xAC, 0x02, 0x72, 0x06, 0x0A,
                                      0x01, 'k',  0x12, 0x01, 'v'};
    const OnnxModelHeader h = parseOnnxModelHeader(bytes);
    EXPECT_EQ(h.irVersion, 300);
    EXPECT_EQ(h.metadata.at("k"), "v");
}

TEST(Anomaly_OnnxHeader, malformed_bytes_raise_parse_errors)
{
    EXPECT_THROW(parseOnnxModelHeader({}), cv::Exception);
    EXPECT_THROW(parseOnnxModelHeader({0x08}), cv::Exception);              // cut varint
    EXPECT_THROW(parseOnnxModelHeader({0x72, 0x10, 0x0A}), cv::Exception);  // length too long
    EXPECT_THROW(parseOnnxModelHeader({0x0F, 0x00}), cv::Exception);        // wire type 7
    EXPECT_THROW(parseOnnxModelHeader({0x00, 0x00}), cv::Exception);        // field 0
    std::vector<uchar> longVarint(12, 0xFF);
    EXPECT_THROW(parseOnnxModelHeader(longVarint), cv::Exception);
}

}  // namespace
}  // namespace opencv_test
