// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// readNetWithCustomLayers(..., CONVOLUTION_LAYERS_BUILTIN): the convolution ops as OpenCV's own
// Convolution layer (what the CUDA backend runs), computing what the module's layers compute.
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

namespace opencv_test {
namespace {

constexpr int kIn = 5, kMid = 7, kSize = 9;

/** x [N,5,9,9] -> PointwiseConv to 7 -> Relu6 -> DepthwiseConv 3x3 pad 1 -> "same"
-> DepthwiseConv 3x3 stride 2, pads 0,0,1,1 (TensorFlow "SAME") -> "strided" [N,7,5,5];
x -> DenseConv to 7, 3x3 pad 1 -> "dense" [N,7,9,9]. */
TestModel convolutionChain(RNG& rng)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, kIn, kSize, kSize});
    m.floatTensor("pw_w", {kMid, kIn, 1, 1}, uniformValues(rng, kMid * kIn, -1.5f, 1.5f));
    m.floatTensor("pw_b", {kMid}, uniformValues(rng, kMid, -1.f, 3.f));
    m.floatTensor("dw_w", {kMid, 1, 3, 3}, uniformValues(rng, kMid * 9, -1.f, 1.f));
    m.floatTensor("dw_b", {kMid}, uniformValues(rng, kMid, -1.f, 1.f));
    m.node("PointwiseConv", {"x", "pw_w", "pw_b"}, {"mixed"}, {}, "org.opencv.anomaly");
    m.node("Relu6", {"mixed"}, {"clamped"}, {}, "org.opencv.anomaly");
    m.node("DepthwiseConv", {"clamped", "dw_w", "dw_b"}, {"same"},
           {TestAttr::integer("stride", 1), TestAttr::list("padding", {1, 1, 1, 1})},
           "org.opencv.anomaly");
    m.node("DepthwiseConv", {"same", "dw_w", "dw_b"}, {"strided"},
           {TestAttr::integer("stride", 2), TestAttr::list("padding", {0, 0, 1, 1})},
           "org.opencv.anomaly");
    m.floatTensor("dense_w", {kMid, kIn, 3, 3}, uniformValues(rng, kMid * kIn * 9, -1.f, 1.f));
    m.node("DenseConv", {"x", "dense_w", "pw_b"}, {"dense"},
           {TestAttr::integer("stride", 1), TestAttr::list("padding", {1, 1, 1, 1})},
           "org.opencv.anomaly");
    m.output("same", {-1, kMid, kSize, kSize});
    m.output("dense", {-1, kMid, kSize, kSize});
    m.output("strided", {-1, kMid, 5, 5});
    return m;
}

/** x [N,5,9,9] -> InvertedResidual 5 -> 7 -> 5, 3x3 pad 1, residual -> "block"
-> InvertedResidual without expansion, 3x3 stride 2, pads 0,0,1,1, to 7 -> "strided" [N,7,5,5]. */
TestModel invertedResidualChain(RNG& rng)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, kIn, kSize, kSize});
    m.floatTensor("ew", {kMid, kIn, 1, 1}, uniformValues(rng, kMid * kIn, -1.f, 1.f));
    m.floatTensor("eb", {kMid}, uniformValues(rng, kMid, -1.f, 3.f));
    m.floatTensor("dw", {kMid, 1, 3, 3}, uniformValues(rng, kMid * 9, -1.f, 1.f));
    m.floatTensor("db", {kMid}, uniformValues(rng, kMid, -1.f, 3.f));
    m.floatTensor("pw", {kIn, kMid, 1, 1}, uniformValues(rng, kIn * kMid, -1.f, 1.f));
    m.floatTensor("pb", {kIn}, uniformValues(rng, kIn, -1.f, 1.f));
    m.floatTensor("dw2", {kIn, 1, 3, 3}, uniformValues(rng, kIn * 9, -1.f, 1.f));
    m.floatTensor("db2", {kIn}, uniformValues(rng, kIn, -1.f, 3.f));
    m.floatTensor("pw2", {kMid, kIn, 1, 1}, uniformValues(rng, kMid * kIn, -1.f, 1.f));
    m.node("InvertedResidual", {"x", "ew", "eb", "dw", "db", "pw", "pb"}, {"block"},
           {TestAttr::integer("stride", 1), TestAttr::list("padding", {1, 1, 1, 1}),
            TestAttr::integer("residual", 1)},
           "org.opencv.anomaly");
    m.node("InvertedResidual", {"block", "dw2", "db2", "pw2", "eb"}, {"strided"},
           {TestAttr::integer("stride", 2), TestAttr::list("padding", {0, 0, 1, 1})},
           "org.opencv.anomaly");
    m.output("block", {-1, kIn, kSize, kSize});
    m.output("strided", {-1, kMid, 5, 5});
    return m;
}

/** The named outputs of both nets on x agree to 1e-4 (OpenCV's convolution sums in another order
than the module's layers) and are not flat. */
void expectSameOutputs(dnn::Net& custom, dnn::Net& builtin, const Mat& x,
                       const std::vector<String>& outputs)
{
    std::vector<Mat> expected, actual;
    custom.setInput(x);
    custom.forward(expected, outputs);
    builtin.setInput(x);
    builtin.forward(actual, outputs);
    ASSERT_EQ(actual.size(), outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
        ASSERT_EQ(actual[i].total(), expected[i].total()) << outputs[i];
        double lo = 0, hi = 0;
        cv::minMaxIdx(expected[i], &lo, &hi);
        ASSERT_GT(hi - lo, 1.0) << outputs[i] << ": outputs too flat to compare";
        EXPECT_LE(cv::norm(actual[i], expected[i], NORM_INF), 1e-4) << outputs[i];
    }
}

std::vector<std::string> layerTypes(const dnn::Net& net)
{
    std::vector<std::string> types;
    for (const auto& name : net.getLayerNames())
        types.push_back(net.getLayer(net.getLayerId(name))->type);
    return types;
}

TEST(Anomaly_BuiltinConvolution, ops_become_opencv_convolutions_that_compute_the_same)
{
    RNG rng(41);
    const TestModel model = convolutionChain(rng);
    registerCustomLayers();
    const std::vector<uchar> bytes = model.serialize();
    dnn::Net custom = readNetWithCustomLayers(bytes);
    dnn::Net builtin = readNetWithCustomLayers(bytes, CONVOLUTION_LAYERS_BUILTIN);

    const auto count = [](const std::vector<std::string>& types, const std::string& type) {
        return std::count(types.begin(), types.end(), type);
    };
    const std::vector<std::string> customTypes = layerTypes(custom);
    EXPECT_EQ(count(customTypes, "Convolution"), 0);
    EXPECT_EQ(count(customTypes, "org.opencv.anomaly.PointwiseConv"), 1);
    EXPECT_EQ(count(customTypes, "org.opencv.anomaly.DepthwiseConv"), 2);
    EXPECT_EQ(count(customTypes, "org.opencv.anomaly.DenseConv"), 1);
    // The pointwise, the dense and the symmetrically padded depthwise convolution become OpenCV's
    // layer; the asymmetric padding, which OpenCV's convolution refuses, keeps the module's layer.
    const std::vector<std::string> builtinTypes = layerTypes(builtin);
    EXPECT_EQ(count(builtinTypes, "Convolution"), 3);
    EXPECT_EQ(count(builtinTypes, "org.opencv.anomaly.DenseConv"), 0);
    EXPECT_EQ(count(builtinTypes, "org.opencv.anomaly.PointwiseConv"), 0);
    EXPECT_EQ(count(builtinTypes, "org.opencv.anomaly.DepthwiseConv"), 1);

    expectSameOutputs(custom, builtin, twinBatch(rng, kIn, kSize, kSize),
                      {"same", "strided", "dense"});
    // The scope ends with the read: the next default read has the module's layers again.
    EXPECT_EQ(count(layerTypes(readNetWithCustomLayers(bytes)), "Convolution"), 0);
}

TEST(Anomaly_BuiltinConvolution, inverted_residual_blocks_become_their_convolutions)
{
    RNG rng(42);
    registerCustomLayers();
    const std::vector<uchar> bytes = invertedResidualChain(rng).serialize();
    dnn::Net custom = readNetWithCustomLayers(bytes);
    dnn::Net builtin = readNetWithCustomLayers(bytes, CONVOLUTION_LAYERS_BUILTIN);
    const auto count = [](const dnn::Net& net, const std::string& type) {
        const std::vector<std::string> types = layerTypes(net);
        return std::count(types.begin(), types.end(), type);
    };
    EXPECT_EQ(count(custom, "org.opencv.anomaly.InvertedResidual"), 2);
    EXPECT_EQ(count(custom, "Convolution"), 0);
    // Expansion, depthwise and projection of the first block, the projection of the second; its
    // depthwise convolution with asymmetric padding stays the module's layer.
    EXPECT_EQ(count(builtin, "org.opencv.anomaly.InvertedResidual"), 0);
    EXPECT_EQ(count(builtin, "Convolution"), 4);
    EXPECT_EQ(count(builtin, "org.opencv.anomaly.DepthwiseConv"), 1);

    expectSameOutputs(custom, builtin, twinBatch(rng, kIn, kSize, kSize), {"block", "strided"});

    // A block with a bias missing is refused when it is expanded, as the layer refuses it.
    TestModel broken;
    broken.useCustomDomain();
    broken.input("x", {-1, kIn, kSize, kSize});
    broken.floatTensor("dw", {kIn, 1, 3, 3}, uniformValues(rng, kIn * 9, -1.f, 1.f));
    broken.floatTensor("pw", {kIn, kIn, 1, 1}, uniformValues(rng, kIn * kIn, -1.f, 1.f));
    broken.floatTensor("pb", {kIn}, uniformValues(rng, kIn, -1.f, 1.f));
    broken.node("InvertedResidual", {"x", "dw", "pw", "pb"}, {"y"}, {}, "org.opencv.anomaly");
    broken.output("y", {-1, kIn, kSize - 2, kSize - 2});
    EXPECT_THROW(readNetWithCustomLayers(broken.serialize(), CONVOLUTION_LAYERS_BUILTIN),
                 cv::Exception);
}

}  // namespace
}  // namespace opencv_test
