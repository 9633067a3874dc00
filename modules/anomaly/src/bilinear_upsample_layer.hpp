// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.BilinearUpsample (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_BILINEAR_UPSAMPLE_LAYER_HPP
#define OPENCV_ANOMALY_BILINEAR_UPSAMPLE_LAYER_HPP

#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

extern const char* const kBilinearUpsampleType;

namespace upsample {

/** Where output index o of an axis upsampled by `factor` reads: (1 - weight) * x[first] +
weight * x[second]. */
struct SourceTap
{
    int first, second;
    float weight;
};

/** The taps of every output index of an axis of `length` inputs: ONNX Resize's half_pixel
coordinate s = (o + 0.5) / factor - 0.5, clamped to [0, length - 1] (PyTorch's
interpolate(align_corners=False)). */
std::vector<SourceTap> sourceTaps(int length, int factor);

}  // namespace upsample

/** Bilinear upsampling of the planes of an NCHW tensor by a whole factor on both axes, as ONNX
Resize(mode linear, coordinate_transformation_mode half_pixel, scales [1, 1, f, f]).

OpenCV 4.6's Resize layer computes every output value on its own, on one thread (0.04-0.06 ms for
one 64x64 map, 0.13 ms for 24 channels from 16x16 to 64x64, at any thread count: 0.4 ms of an
lgfdr head's 4.7). This layer interpolates each input row along the width once and blends the two
rows each output row needs with vector arithmetic, planes and bands of rows in parallel. */
class BilinearUpsampleLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit BilinearUpsampleLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;

    /** The largest factor accepted: far above any model's, and small enough that no plane's
    side times it overflows. */
    static constexpr int kMaxFactor = 64;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;

    int factor_;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_BILINEAR_UPSAMPLE_LAYER_HPP
