// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Writes a CNN as an ONNX graph restricted to doc/model-format.md section 6, tracking every value's
// shape (for the output ValueInfos) and the multiply-accumulate count (for the cost table).
#ifndef ANOMALY_EXPORT_BACKBONE_FEATURE_NET_WRITER_HPP
#define ANOMALY_EXPORT_BACKBONE_FEATURE_NET_WRITER_HPP

#include "onnx_graph.hpp"

#include <torch/torch.h>

#include <array>
#include <string>

namespace anomaly_backbone {

/** A value of the graph: its name and per-image shape C x H x W. */
struct FeatureValue
{
    std::string name;
    int64_t channels = 0, height = 0, width = 0;
};

/** Convolution weights [O, I/group, kh, kw] and bias [O] (float32). */
struct ConvWeights
{
    torch::Tensor weight;
    torch::Tensor bias;
};

/** Folds an inference-mode BatchNorm that follows a convolution into its weights and bias.
convBias may be undefined (convolution without bias). */
ConvWeights foldBatchNorm(const torch::Tensor& convWeight, const torch::Tensor& convBias,
                          const torch::Tensor& gamma, const torch::Tensor& beta,
                          const torch::Tensor& runningMean, const torch::Tensor& runningVar,
                          double epsilon);

/** Padding as {top, left, bottom, right}. */
using Pads = std::array<int64_t, 4>;

/** Symmetric PyTorch padding of kernel k (k/2 on each side). */
Pads symmetricPads(int64_t kernel);

/** TensorFlow "SAME" padding (the extra pixel goes to the bottom/right) for a kxk kernel with this
stride on an h x w input; also what the EfficientNet-Lite PyTorch port uses. */
Pads tfSamePads(int64_t height, int64_t width, int64_t kernel, int64_t stride);

/** Which graph the architecture builders are asked to write. */
enum class GraphKind
{
    Features,
    Classifier
};

class FeatureNetWriter
{
public:
    /** Starts a graph with input `image` [N, 3, size, size] (N symbolic). */
    FeatureNetWriter(const std::string& graphName, int64_t inputSize, GraphKind kind);

    GraphKind kind() const { return kind_; }
    const FeatureValue& input() const { return input_; }

    FeatureValue conv(const FeatureValue& x, const ConvWeights& w, int64_t stride, const Pads& pads,
                      int64_t group = 1);
    /** An inverted-residual block as the custom op org.opencv.anomaly.InvertedResidual:
    project(relu6(depthwise(relu6(expand(x))))), plus x where `residual`; expand may have an
    undefined weight (no expansion). One op instead of five or six layers, so that the module runs
    the block per band of rows with the expanded tensor in cache. */
    FeatureValue invertedResidual(const FeatureValue& x, const ConvWeights& expand,
                                  const ConvWeights& depthwise, const ConvWeights& project,
                                  int64_t stride, const Pads& pads, bool residual);
    FeatureValue relu(const FeatureValue& x);
    /** min(max(x, 0), 6) as the custom op org.opencv.anomaly.Relu6 (doc/model-format.md section 6).
    OpenCV 4.6 rejects Clip with min/max inputs (opset >= 11); the custom op maps to OpenCV's own
    ReLU6 layer, which the net fuses into the preceding convolution. */
    FeatureValue relu6(const FeatureValue& x);
    FeatureValue leakyRelu(const FeatureValue& x, float alpha);
    FeatureValue add(const FeatureValue& a, const FeatureValue& b);
    FeatureValue maxPool(const FeatureValue& x, int64_t kernel, int64_t stride, const Pads& pads);
    /** Mean over H x W, as an AveragePool with the full spatial kernel: [N, C, 1, 1]. */
    FeatureValue globalAveragePool(const FeatureValue& x);

    /** Features graph: renames x to `name` (x is updated) and declares it a graph output.
    Classifier graph: does nothing. */
    void tap(const std::string& name, FeatureValue& x);
    /** Classifier graph: `logits` [N, classes] = Gemm(transB=1) of the flattened [N, C, 1, 1]
    input with weight [classes, C] and bias [classes]. */
    void classifierHead(const FeatureValue& pooled, const torch::Tensor& weight,
                        const torch::Tensor& bias);

    /** Multiply-accumulates of all convolutions and the Gemm, per image. */
    int64_t multiplyAccumulates() const { return macs_; }

    anomaly_export::OnnxGraphBuilder& builder() { return builder_; }

private:
    FeatureValue like(const FeatureValue& x, const std::string& prefix);
    std::string weightInitializer(const std::string& prefix, const torch::Tensor& t);

    anomaly_export::OnnxGraphBuilder builder_;
    GraphKind kind_;
    FeatureValue input_;
    int64_t macs_ = 0;
};

}  // namespace anomaly_backbone

#endif  // ANOMALY_EXPORT_BACKBONE_FEATURE_NET_WRITER_HPP
