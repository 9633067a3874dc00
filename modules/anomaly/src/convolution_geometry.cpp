// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "convolution_geometry.hpp"

#include "precomp.hpp"

namespace cv {
namespace anomaly {

ConvolutionGeometry readConvolutionGeometry(const dnn::LayerParams& params, const char* opName,
                                            int kernelH, int kernelW, int group)
{
    const char* const what = params.name.c_str();
    ConvolutionGeometry g{kernelH, kernelW, params.get<int>("stride", 1), 0, 0, 0, 0, group};
    if (g.stride < 1 || g.stride > 16)
        CV_Error(Error::StsBadArg,
                 cv::format("%s '%s': stride must be in 1..16, got %d", opName, what, g.stride));
    int pads[4] = {0, 0, 0, 0};
    if (params.has("padding")) {
        const dnn::DictValue& padding = params.get("padding");
        if (padding.size() != 4)
            CV_Error(
                Error::StsBadArg,
                cv::format("%s '%s': padding must be [top, left, bottom, right]", opName, what));
        for (int i = 0; i < 4; ++i)
            pads[i] = padding.get<int>(i);
    }
    const int kernelOf[4] = {kernelH, kernelW, kernelH, kernelW};
    for (int i = 0; i < 4; ++i)
        if (pads[i] < 0 || pads[i] >= kernelOf[i])
            CV_Error(Error::StsBadArg,
                     cv::format("%s '%s': padding %d must be in 0..%d for a %dx%d kernel", opName,
                                what, pads[i], kernelOf[i] - 1, kernelH, kernelW));
    g.padTop = pads[0];
    g.padLeft = pads[1];
    g.padBottom = pads[2];
    g.padRight = pads[3];
    return g;
}

dnn::MatShape convolutionOutputShape(const ConvolutionGeometry& g, const dnn::MatShape& x,
                                     int outChannels, const char* opName, const std::string& name)
{
    const int paddedH = x[2] + g.padTop + g.padBottom, paddedW = x[3] + g.padLeft + g.padRight;
    if (paddedH < g.kernelH || paddedW < g.kernelW)
        CV_Error(Error::StsBadArg,
                 cv::format("%s '%s': padded input %dx%d is smaller than the %dx%d kernel", opName,
                            name.c_str(), paddedH, paddedW, g.kernelH, g.kernelW));
    return dnn::MatShape{x[0], outChannels, (paddedH - g.kernelH) / g.stride + 1,
                         (paddedW - g.kernelW) / g.stride + 1};
}

}  // namespace anomaly
}  // namespace cv
