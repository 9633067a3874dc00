// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The activation a custom convolution layer absorbs when OpenCV's net fuses one into it.
#ifndef OPENCV_ANOMALY_FUSED_CLAMP_HPP
#define OPENCV_ANOMALY_FUSED_CLAMP_HPP

#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>

#include <algorithm>
#include <limits>

namespace cv {
namespace anomaly {

/** Output range of a layer with a fused ReLU or ReLU6: the whole float range when none is
fused. Both are clamps, so the kernels apply them as one min/max on the way out. */
struct FusedClamp
{
    float lo = -std::numeric_limits<float>::infinity();
    float hi = std::numeric_limits<float>::infinity();

    /** The body of Layer::setActivation: absorbs a ReLU6 or a ReLU without negative slope and
    returns true; anything else is left to run as its own layer and keeps what was absorbed
    before (the net offers the activations after a layer one by one until one is refused). The
    net passes an empty pointer when it undoes fusions before a new setup. */
    bool absorb(const Ptr<dnn::ActivationLayer>& layer)
    {
        if (layer.empty()) {
            *this = FusedClamp();
            return false;
        }
        if (Ptr<dnn::ReLU6Layer> relu6 = layer.dynamicCast<dnn::ReLU6Layer>()) {
            compose(relu6->minValue, relu6->maxValue);
            return true;
        }
        Ptr<dnn::ReLULayer> relu = layer.dynamicCast<dnn::ReLULayer>();
        if (relu && relu->negativeSlope == 0.f) {
            compose(0.f, std::numeric_limits<float>::infinity());
            return true;
        }
        return false;
    }

private:
    /** A clamp to [a, b] after the clamp to [lo, hi] is one clamp to the ends mapped by it. */
    void compose(float a, float b)
    {
        lo = std::min(std::max(lo, a), b);
        hi = std::min(std::max(hi, a), b);
    }
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_FUSED_CLAMP_HPP
