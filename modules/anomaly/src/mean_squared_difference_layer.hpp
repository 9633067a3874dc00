// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.MeanSquaredDifference (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_MEAN_SQUARED_DIFFERENCE_LAYER_HPP
#define OPENCV_ANOMALY_MEAN_SQUARED_DIFFERENCE_LAYER_HPP

#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

extern const char* const kMeanSquaredDifferenceType;

/** Per pixel, the mean over channels of a squared difference, scaled: y[n,0,i,j] = scale / C *
sum_c (a[n,c,i,j] - b[n,c,i,j])^2, or of a^2 where there is no b. The models' anomaly maps: a
reconstruction's squared error (lgfdr, dadf) and a flow's 0.5 * mean z^2 (lgnf, dadf).

As standard nodes this is Sub, Mul and a 1x1 convolution with one output channel: OpenCV 4.6 runs
the two element-wise layers at 1.5-3.5 G values/s, each reading and writing the whole [N,C,H,W]
tensor (0.06 ms for a Sub of 24 channels on 64x64), and such chains make up most of lgfdr's maps
stage (0.6 ms with 1 thread). This layer reads each input once and accumulates the squares of a
block of pixels over the channels in cache, blocks in parallel. */
class MeanSquaredDifferenceLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit MeanSquaredDifferenceLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;

    float scale_;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_MEAN_SQUARED_DIFFERENCE_LAYER_HPP
