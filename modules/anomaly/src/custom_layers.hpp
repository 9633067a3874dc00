// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Custom cv::dnn layers for the ops of doc/model-format.md section 6 that OpenCV 4.6 lacks.
#ifndef OPENCV_ANOMALY_CUSTOM_LAYERS_HPP
#define OPENCV_ANOMALY_CUSTOM_LAYERS_HPP

#include <opencv2/dnn.hpp>

namespace cv {
namespace anomaly {

/** Type names under which the layers are registered ("<domain>.<op>", as OpenCV's importer forms
 * them). */
extern const char* const kLayerNormType;
extern const char* const kChannelAffinePermuteType;

/** Per-pixel layer normalisation over the channels of an NCHW tensor, with affine gamma/beta. */
class LayerNormLayer : public dnn::Layer
{
public:
    explicit LayerNormLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;
    void forward(InputArrayOfArrays inputs, OutputArrayOfArrays outputs,
                 OutputArrayOfArrays internals) override;

private:
    float epsilon_;
};

/** The normalizing flow's global affine followed by a fixed channel permutation:
y[:, i] = x[:, perm[i]] * scale[perm[i]] + bias[perm[i]]. */
class ChannelAffinePermuteLayer : public dnn::Layer
{
public:
    explicit ChannelAffinePermuteLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;
    void forward(InputArrayOfArrays inputs, OutputArrayOfArrays outputs,
                 OutputArrayOfArrays internals) override;

private:
    std::vector<int> perm_;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_CUSTOM_LAYERS_HPP
