// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "builtin_convolution.hpp"

#include <opencv2/dnn/all_layers.hpp>

namespace cv {
namespace anomaly {

namespace {

thread_local bool tBuiltinConvolution = false;

}  // namespace

BuiltinConvolutionScope::BuiltinConvolutionScope(bool enabled) : previous_(tBuiltinConvolution)
{
    tBuiltinConvolution = enabled;
}

BuiltinConvolutionScope::~BuiltinConvolutionScope()
{
    tBuiltinConvolution = previous_;
}

bool builtinConvolutionRequested()
{
    return tBuiltinConvolution;
}

Ptr<dnn::Layer> createBuiltinConvolution(const dnn::LayerParams& params,
                                         const ConvolutionGeometry& g)
{
    if (g.padTop != g.padBottom || g.padLeft != g.padRight)
        return Ptr<dnn::Layer>();
    // The parameters OpenCV's ONNX importer gives the layer for an ONNX Conv.
    dnn::LayerParams p;
    p.name = params.name;
    p.type = "Convolution";
    p.blobs = params.blobs;
    p.set("kernel_h", g.kernelH);
    p.set("kernel_w", g.kernelW);
    p.set("stride_h", g.stride);
    p.set("stride_w", g.stride);
    p.set("pad_h", g.padTop);
    p.set("pad_w", g.padLeft);
    p.set("group", g.group);
    p.set("num_output", params.blobs[0].size[0]);
    p.set("bias_term", true);
    return dnn::ConvolutionLayer::create(p);
}

}  // namespace anomaly
}  // namespace cv
