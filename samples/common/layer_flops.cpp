// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "layer_flops.hpp"

#include <opencv2/dnn/shape_utils.hpp>

namespace anomaly_samples {

double layerFlops(cv::dnn::Net& net, int layerId, const cv::dnn::MatShape& inputShape)
{
    const cv::Ptr<cv::dnn::Layer> layer = net.getLayer(layerId);
    const bool conv = layer->type == "Convolution" && !layer->blobs.empty();
    const bool matmul = layer->type == "InnerProduct" && layer->blobs.empty();
    if (!conv && !matmul)
        return double(net.getFLOPS(layerId, inputShape)) / double(inputShape[0]);
    std::vector<cv::dnn::MatShape> in, out;
    net.getLayerShapes(inputShape, layerId, in, out);
    if (in.empty() || in[0].empty() || out.empty())
        return 0;
    // A conv's weight blob [out, in/group, kh, kw] gives the multiply-adds per output element; a
    // MatMul's inner dimension is the last of input 0.
    const cv::Mat& weights = conv ? layer->blobs[0] : cv::Mat();
    const double macsPerOutput =
        conv ? double(weights.total()) / weights.size[0] : double(in[0].back());
    return 2.0 * double(cv::dnn::total(out[0])) * macsPerOutput / double(inputShape[0]);
}

}  // namespace anomaly_samples
