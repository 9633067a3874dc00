// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Creating the module's convolution ops as OpenCV's own Convolution layer, for backends that have
// no way to run a custom layer (doc/model-format.md section 6, "On OpenCV's CUDA backend").
#ifndef OPENCV_ANOMALY_BUILTIN_CONVOLUTION_HPP
#define OPENCV_ANOMALY_BUILTIN_CONVOLUTION_HPP

#include "convolution_geometry.hpp"

#include <opencv2/dnn.hpp>

namespace cv {
namespace anomaly {

/** While an instance lives, the DepthwiseConv and PointwiseConv ops that the importer creates on
this thread become OpenCV's Convolution layer where it can compute them. The importer creates every
layer inside readNetFromONNX, on the calling thread, so a scope around that call covers one net. */
class BuiltinConvolutionScope
{
public:
    explicit BuiltinConvolutionScope(bool enabled);
    ~BuiltinConvolutionScope();
    BuiltinConvolutionScope(const BuiltinConvolutionScope&) = delete;
    BuiltinConvolutionScope& operator=(const BuiltinConvolutionScope&) = delete;

private:
    bool previous_;
};

/** Whether a BuiltinConvolutionScope asks for built-in layers on this thread. */
bool builtinConvolutionRequested();

/** OpenCV's Convolution layer computing the op described by params.blobs (weight, bias) and g, or
an empty pointer where it cannot: OpenCV 4.6's convolution layer refuses padding that differs
between the two sides of an axis (its importer puts a Padding layer in front of such a Conv, and
a factory returns one layer). */
Ptr<dnn::Layer> createBuiltinConvolution(const dnn::LayerParams& params,
                                         const ConvolutionGeometry& g);

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_BUILTIN_CONVOLUTION_HPP
