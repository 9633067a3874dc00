// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Custom cv::dnn layers for the ops of doc/model-format.md section 6 that OpenCV 4.6 lacks.
#ifndef OPENCV_ANOMALY_CUSTOM_LAYERS_HPP
#define OPENCV_ANOMALY_CUSTOM_LAYERS_HPP

#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

namespace cv {
namespace anomaly {

/** Type names under which the layers are registered ("<domain>.<op>", as OpenCV's importer forms
 * them). */
extern const char* const kLayerNormType;
extern const char* const kChannelAffinePermuteType;
extern const char* const kRelu6Type;
extern const char* const kSoftClampAffineType;
extern const char* const kSoftmaxLastAxisType;

/** Factory of the Relu6 op: min(max(x, 0), 6). It returns OpenCV's own ReLU6Layer (an
ActivationLayer), so the net fuses it into the preceding convolution and the CUDA backend runs it;
a layer class of ours would do neither. Raises cv::Exception when the node has constant inputs. */
Ptr<dnn::Layer> createRelu6Layer(dnn::LayerParams& params);

/** out[i] = x2[i] * exp(clamp * tanh(logScale[i])) + shift[i] for i < length, the function of the
SoftClampAffine op: vector loop at AVX2 + FMA width where the CPU has both (the build's baseline
otherwise), exact std::exp / std::tanh for the last values that fill no vector. */
void softClampAffineRow(const float* x2, const float* logScale, const float* shift, float clamp,
                        int length, float* out);

/** Base of our element-wise NCHW layers: one non-constant 4-D input, an output of the same shape,
and float initializers ("parameters") that each hold one value per channel. Derived layers name
their parameters and implement compute(). */
class PerChannelNchwLayer : public SingleOutputLayer
{
public:
    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;

protected:
    /** @param parameterNames names of the leading per-channel float blobs, for messages. */
    PerChannelNchwLayer(const dnn::LayerParams& params, const char* opName,
                        std::vector<const char*> parameterNames, size_t blobCount);
    /** Extra checks once the channel count is known. */
    virtual void checkChannels(int channels) const;

    const char* opName_;

private:
    std::vector<const char*> parameterNames_;
};

/** Per-pixel layer normalisation over the channels of an NCHW tensor, with affine gamma/beta. */
class LayerNormLayer CV_FINAL : public PerChannelNchwLayer
{
public:
    explicit LayerNormLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;
    float epsilon_;
};

/** The normalizing flow's global affine followed by a fixed channel permutation:
y[:, i] = x[:, perm[i]] * scale[perm[i]] + bias[perm[i]]. */
class ChannelAffinePermuteLayer CV_FINAL : public PerChannelNchwLayer
{
public:
    explicit ChannelAffinePermuteLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

private:
    void checkChannels(int channels) const override;
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;
    std::vector<int> perm_;
};

/** The affine half of a normalizing-flow coupling block, fused: from X2 [N,R,H,W] and the subnet
output A [N,2R,H,W], y = x2 * exp(clamp * tanh(a[:, :R])) + a[:, R:]. One vectorised pass instead of
two slices, Tanh, Mul, Exp, Mul and Add, of which OpenCV 4.6 runs Tanh and Exp one scalar at a
time (they were most of the flow's time). */
class SoftClampAffineLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit SoftClampAffineLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);
    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;
    float clamp_;
};

/** Softmax over the last axis of a tensor of any rank, rows in parallel, vectorised with the
same exp as SoftClampAffine. OpenCV 4.6's Softmax runs on one thread with scalar max/sum loops
when the axis is the last one: 2.5-3 ms for the local branch's [1,4,256,256] attention weights,
whatever the thread count. */
class SoftmaxLastAxisLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit SoftmaxLastAxisLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);
    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_CUSTOM_LAYERS_HPP
