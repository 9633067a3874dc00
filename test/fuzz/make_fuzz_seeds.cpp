// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Writes seed inputs for the fuzz targets: valid models (with and without custom ops, with a
// statistics score) and a few images (raw headers plus small encoded PNG, JPEG, BMP and TIFF
// files), so the fuzzers start from inputs that reach deep into the code.
#include "test_models.hpp"

#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

void write(const std::string& path, const std::vector<unsigned char>& bytes)
{
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

opencv_test::TestModel customOpModel()
{
    using namespace opencv_test;
    TestModel m = channelMixModel(false);
    m.useCustomDomain();
    m.floatTensor("g", {1}, {1.f});
    m.floatTensor("b", {1}, {0.f});
    m.int64Tensor("p", {0});
    m.node("ChannelAffinePermute", {"anomaly_map", "g", "b", "p"}, {"permuted"}, {},
           "org.opencv.anomaly");
    m.node("LayerNorm", {"permuted", "g", "b"}, {"normed"}, {TestAttr::real("epsilon", 1e-5f)},
           "org.opencv.anomaly");
    m.node("Concat", {"normed", "permuted"}, {"pair"}, {TestAttr::integer("axis", 1)});
    m.node("SoftClampAffine", {"normed", "pair"}, {"coupled"}, {TestAttr::real("clamp", 2.f)},
           "org.opencv.anomaly");
    m.floatTensor("dw_w", {1, 1, 3, 3}, std::vector<float>(9, 0.1f));
    m.node("SoftmaxLastAxis", {"coupled"}, {"weights"}, {}, "org.opencv.anomaly");
    m.node("DepthwiseConv", {"coupled", "dw_w", "b"}, {"smoothed"},
           {TestAttr::integer("stride", 2), TestAttr::list("padding", {0, 0, 1, 1})},
           "org.opencv.anomaly");
    m.floatTensor("pw_w", {1, 1, 1, 1}, {0.5f});
    m.node("PointwiseConv", {"smoothed", "pw_w", "b"}, {"mixed"}, {}, "org.opencv.anomaly");
    m.node("DenseConv", {"coupled", "dw_w", "b"}, {"dense"},
           {TestAttr::integer("stride", 2), TestAttr::list("padding", {0, 0, 1, 1})},
           "org.opencv.anomaly");
    m.floatTensor("pw2_w", {2, 1, 1, 1}, {0.5f, -0.5f});
    m.floatTensor("pair_g", {2}, {1.f, 0.5f});
    m.floatTensor("pair_b", {2}, {0.f, 0.1f});
    m.int64Tensor("pair_p", {1, 0});
    m.node("AffineCoupling", {"pair", "dw_w", "b", "pw2_w", "pair_b", "pair_g", "pair_b", "pair_p"},
           {"flowed"}, {TestAttr::real("clamp", 2.f), TestAttr::real("slope", 0.1f)},
           "org.opencv.anomaly");
    m.floatTensor("ir_dw", {2, 1, 3, 3}, std::vector<float>(18, 0.1f));
    m.floatTensor("ir_project", {1, 2, 1, 1}, {0.5f, -0.5f});
    m.node("InvertedResidual", {"coupled", "pw2_w", "pair_b", "ir_dw", "pair_b", "ir_project", "b"},
           {"block"},
           {TestAttr::integer("stride", 1), TestAttr::list("padding", {1, 1, 1, 1}),
            TestAttr::integer("residual", 1)},
           "org.opencv.anomaly");
    m.node("BilinearUpsample", {"coupled"}, {"upsampled"}, {TestAttr::integer("factor", 2)},
           "org.opencv.anomaly");
    m.node("Attention", {"pair", "pair", "pair"}, {"attended"}, {TestAttr::integer("heads", 2)},
           "org.opencv.anomaly");
    m.node("AttentionPooling", {"pair", "pair"}, {"pooled"}, {TestAttr::integer("heads", 2)},
           "org.opencv.anomaly");
    m.node("MeanSquaredDifference", {"pair", "attended"}, {"squares"},
           {TestAttr::real("scale", 0.5f)}, "org.opencv.anomaly");
    const int64_t s = kTestModelSize;
    m.floatTensor("pl_w", {2, 2, s, s}, std::vector<float>(size_t(4 * s * s), 0.5f));
    m.floatTensor("pl_b", {2, s, s}, std::vector<float>(size_t(2 * s * s), 0.1f));
    m.node("PositionwiseLinear", {"pair", "pl_w", "pl_b"}, {"whitened"}, {}, "org.opencv.anomaly");
    m.floatTensor("pls_w", {3, s, s}, std::vector<float>(size_t(3 * s * s), 0.25f));
    m.node("PositionwiseLinear", {"pair", "pls_w", "pl_b"}, {"whitened_symmetric"},
           {TestAttr::integer("symmetric", 1)}, "org.opencv.anomaly");
    return m;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: make_fuzz_seeds <model seed dir> <image seed dir>\n");
        return 1;
    }
    const std::string models = argv[1], images = argv[2];
    write(models + "/channel_mix.onnx", opencv_test::channelMixModel().serialize());
    write(models + "/channel_mix_plain.onnx", opencv_test::channelMixModel(false).serialize());
    write(models + "/custom_ops.onnx", customOpModel().serialize());
    write(models + "/statistics_score.onnx", opencv_test::statisticsScoreModel().serialize());
    write(models + "/score_map.onnx", opencv_test::scoreMapModel().serialize());
    // rows-1, cols-1, depth selector, channels-1, then pixels.
    std::vector<unsigned char> image = {15, 15, 0, 2};
    image.resize(4 + 16 * 16 * 3, 128);
    write(images + "/u8c3.bin", image);
    write(images + "/f32c1.bin", {3, 3, 5, 0, 0, 0, 0x80, 0x7f, 0, 0, 0xc0, 0x7f});
    cv::Mat gradient(12, 10, CV_8UC3);
    for (int y = 0; y < gradient.rows; ++y)
        for (int x = 0; x < gradient.cols; ++x)
            gradient.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(20 * x), uchar(20 * y), 90);
    for (const char* extension : {".png", ".jpg", ".bmp", ".tiff"}) {
        std::vector<unsigned char> encoded;
        cv::imencode(extension, gradient, encoded);
        write(images + "/gradient" + extension, encoded);
    }
    return 0;
}
