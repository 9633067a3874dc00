// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "depthwise_conv_layer.hpp"

#include "builtin_convolution.hpp"
#include "depthwise_conv_kernel.hpp"

#include "precomp.hpp"
#include "simd_lanes.hpp"

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/dnn/shape_utils.hpp>

namespace cv {
namespace anomaly {

const char* const kDepthwiseConvType = "org.opencv.anomaly.DepthwiseConv";

namespace depthwise {

namespace {

/** Splits one padded row (padded columns in order) into its stride phases (strides above 2). */
void splitPhases(const float* linear, int stride, int phaseLength, float* row)
{
    for (int phase = 0; phase < stride; ++phase)
        for (int k = 0; k < phaseLength; ++k)
            row[phase * phaseLength + k] = linear[k * stride + phase];
}

/** The two stride phases of one padded row, straight from the input row: the even and odd input
columns go to the phases their padded columns fall in (which swap when padLeft is odd); the rest
of the row is zeros (written unless paddingZeroed). */
void splitStrideTwoRow(const float* srcRow, int copied, int padLeft, int phaseLength,
                       bool paddingZeroed, float* row)
{
    if (!paddingZeroed)
        std::fill(row, row + 2 * phaseLength, 0.f);
    float* evenDst = row + (padLeft & 1) * phaseLength + (padLeft >> 1);
    float* oddDst = row + ((padLeft + 1) & 1) * phaseLength + ((padLeft + 1) >> 1);
    int m = 0;
#if CV_SIMD
    for (; 2 * (m + v_float32::nlanes) <= copied; m += v_float32::nlanes) {
        v_float32 even, odd;
        v_load_deinterleave(srcRow + 2 * m, even, odd);
        v_store(evenDst + m, even);
        v_store(oddDst + m, odd);
    }
#endif
    for (int j = m; 2 * j < copied; ++j)
        evenDst[j] = srcRow[2 * j];
    for (int j = m; 2 * j + 1 < copied; ++j)
        oddDst[j] = srcRow[2 * j + 1];
}

/** dst[0 .. n) = src[0 .. n) in vector moves: for rows of a few dozen floats, as here, a call to
memmove (what std::copy of floats becomes) is mostly call overhead. */
void copyRow(const float* src, int n, float* dst)
{
    int j = 0;
#if CV_SIMD
    for (; j + v_float32::nlanes <= n; j += v_float32::nlanes)
        v_store(dst + j, vx_load(src + j));
#endif
    for (; j < n; ++j)
        dst[j] = src[j];
}

}  // namespace

PaddedPlaneLayout planLayout(int kernelH, int kernelW, int stride, int outH, int outW,
                             std::vector<int>& tapOffsets)
{
    PaddedPlaneLayout l;
    l.phaseLength = outW + (kernelW - 1) / stride;
    l.rowStride = stride * l.phaseLength;
    l.rows = (outH - 1) * stride + kernelH;
    l.stride = stride;
    l.outH = outH;
    l.outW = outW;
    l.taps = kernelH * kernelW;
    tapOffsets.clear();
    for (int ky = 0; ky < kernelH; ++ky)
        for (int kx = 0; kx < kernelW; ++kx)
            tapOffsets.push_back(ky * l.rowStride + (kx % stride) * l.phaseLength + kx / stride);
    l.tapOffsets = tapOffsets.data();
    return l;
}

void fillPaddedPlane(const float* src, int height, int width, int padTop, int padLeft, int firstRow,
                     const PaddedPlaneLayout& layout, float* buffer, float* linearRow,
                     bool paddingZeroed)
{
    // Padded columns 0 .. rowStride-1 of a row: padLeft zeros, the input row (cut where no
    // output reads it), zeros. Strides above 2 rewrite every element through linearRow.
    const int length = layout.rowStride;
    const int copied = std::max(0, std::min(width, length - padLeft));
    const bool writeZeros = !paddingZeroed || layout.stride > 2;
    for (int r = 0; r < layout.rows; ++r) {
        const int y = firstRow + r - padTop;
        float* row = buffer + size_t(r) * length;
        if (y < 0 || y >= height) {
            if (writeZeros)
                std::fill(row, row + length, 0.f);
            continue;
        }
        const float* srcRow = src + size_t(y) * width;
        if (layout.stride == 2) {
            splitStrideTwoRow(srcRow, copied, padLeft, layout.phaseLength, paddingZeroed, row);
            continue;
        }
        float* linear = layout.stride == 1 ? row : linearRow;
        if (writeZeros) {
            std::fill(linear, linear + padLeft, 0.f);
            std::fill(linear + padLeft + copied, linear + length, 0.f);
        }
        copyRow(srcRow, copied, linear + padLeft);
        if (layout.stride > 1)
            splitPhases(linear, layout.stride, layout.phaseLength, row);
    }
}

PlaneKernel selectPlaneKernel()
{
#ifdef ANOMALY_HAVE_AVX2_KERNEL
    if (avx2KernelsUsable())
        return depthwise::convolvePlaneAvx2;
#endif
    return depthwise::convolvePlane<UniversalLanes>;
}

}  // namespace depthwise

using depthwise::PaddedPlaneLayout;

DepthwiseConvLayer::DepthwiseConvLayer(const dnn::LayerParams& params) : SingleOutputLayer(params)
{
    const char* const what = name.c_str();
    if (blobs.size() != 2)
        CV_Error(Error::StsBadArg,
                 cv::format("DepthwiseConv '%s': expects the input plus a weight and a bias "
                            "initializer, got %d initializer(s)",
                            what, int(blobs.size())));
    const Mat &weight = blobs[0], &bias = blobs[1];
    if (weight.dims != 4 || weight.depth() != CV_32F || weight.size[1] != 1 || weight.size[0] < 1 ||
        weight.size[2] < 1 || weight.size[3] < 1)
        CV_Error(
            Error::StsBadArg,
            cv::format("DepthwiseConv '%s': weight must be a float [C,1,kh,kw] initializer", what));
    if (bias.depth() != CV_32F || int(bias.total()) != weight.size[0])
        CV_Error(Error::StsBadArg,
                 cv::format("DepthwiseConv '%s': bias must be a float initializer with %d values",
                            what, weight.size[0]));
    geometry_ = readConvolutionGeometry(params, "DepthwiseConv", weight.size[2], weight.size[3],
                                        weight.size[0]);
}

Ptr<dnn::Layer> DepthwiseConvLayer::create(dnn::LayerParams& params)
{
    Ptr<DepthwiseConvLayer> layer = makePtr<DepthwiseConvLayer>(params);  // validates params
    if (builtinConvolutionRequested()) {
        if (Ptr<dnn::Layer> builtin = createBuiltinConvolution(params, layer->geometry_))
            return builtin;
    }
    return layer;
}

bool DepthwiseConvLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                         std::vector<dnn::MatShape>& outputs,
                                         std::vector<dnn::MatShape>&) const
{
    if (inputs.size() != 1)
        CV_Error(Error::StsBadArg, cv::format("DepthwiseConv '%s': expects 1 non-constant input, "
                                              "got %d",
                                              name.c_str(), int(inputs.size())));
    const dnn::MatShape& x = inputs[0];
    if (x.size() != 4 || x[1] != blobs[0].size[0])
        CV_Error(Error::StsBadArg,
                 cv::format("DepthwiseConv '%s': input must be [N,%d,H,W] for its %d kernels",
                            name.c_str(), blobs[0].size[0], blobs[0].size[0]));
    outputs.assign(1, convolutionOutputShape(geometry_, x, x[1], "DepthwiseConv", name));
    return false;
}

void DepthwiseConvLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
    const int batch = x.size[0], channels = x.size[1], height = x.size[2], width = x.size[3];
    const int outH = y.size[2], outW = y.size[3];
    std::vector<int> tapOffsets;
    const PaddedPlaneLayout layout = depthwise::planLayout(
        geometry_.kernelH, geometry_.kernelW, geometry_.stride, outH, outW, tapOffsets);
    const float* weights = blobs[0].ptr<float>();
    const float* bias = blobs[1].ptr<float>();
    const depthwise::PlaneKernel kernel = depthwise::selectPlaneKernel();

    parallel_for_(Range(0, batch * channels), [&](const Range& r) {
        AutoBuffer<float> padded(size_t(layout.rows) * layout.rowStride),
            linearRow(size_t(layout.rowStride));
        for (int idx = r.start; idx < r.end; ++idx) {
            const int n = idx / channels, c = idx % channels;
            // Every plane has the same padding: its zeros are written for the task's first only.
            depthwise::fillPaddedPlane(x.ptr<float>(n, c), height, width, geometry_.padTop,
                                       geometry_.padLeft, 0, layout, padded.data(),
                                       linearRow.data(), idx > r.start);
            kernel(padded.data(), layout, weights + size_t(c) * layout.taps, bias[c], clamp_.lo,
                   clamp_.hi, y.ptr<float>(n, c));
        }
    });
}

bool DepthwiseConvLayer::setActivation(const Ptr<dnn::ActivationLayer>& layer)
{
    return clamp_.absorb(layer);
}

int64 DepthwiseConvLayer::getFLOPS(const std::vector<dnn::MatShape>&,
                                   const std::vector<dnn::MatShape>& outputs) const
{
    // One multiply and one add per tap and output value.
    return 2 * int64(dnn::total(outputs[0])) * geometry_.kernelH * geometry_.kernelW;
}

}  // namespace anomaly
}  // namespace cv
