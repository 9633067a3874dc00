// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "inverted_residual_layer.hpp"

#include "depthwise_conv_layer.hpp"

#include "precomp.hpp"

#include <opencv2/dnn/shape_utils.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace cv {
namespace anomaly {

const char* const kInvertedResidualType = "org.opencv.anomaly.InvertedResidual";

namespace {

/** Bytes of expanded rows a band holds, chosen by timing 128 to 512 KiB on EfficientNet-Lite0's
blocks (doc/performance.md): smaller bands copy the depthwise window's extra rows more often and
multiply smaller blocks; from 256 KiB up the sizes timed alike. */
constexpr size_t kBandBytes = 384 * 1024;

/** Output rows per band: as many as keep the expanded input rows they read within kBandBytes, at
least one. */
int bandOutputRows(int hidden, int width, int kernelH, int stride, int outH)
{
    const size_t rowBytes = size_t(hidden) * size_t(width) * sizeof(float);
    const int rowsInBudget = int(kBandBytes / std::max<size_t>(rowBytes, 1));
    return std::max(1, std::min(outH, (rowsInBudget - kernelH) / stride + 1));
}

/** The 1x1 product dst = clamp(W x + b) of `pixels` consecutive pixels starting at `first` of one
image (x: channels x plane); dst holds output channel o at dst[o * dstStride]. */
void multiplyPixels(const pointwise::PackedWeights& weights,
                    const pointwise::TileKernelChoice& tile, const float* image, size_t plane,
                    size_t first, size_t pixels, float lo, float hi, float* dst, size_t dstStride,
                    float* panels, float* tail)
{
    pointwise::packPanels(image, weights.inChannels(), plane, first, pixels, tile.columns, panels);
    weights.multiplyPanels(tile, panels, pixels, 0, weights.strips(), lo, hi, dst, dstStride, tail);
}

}  // namespace

InvertedResidualLayer::InvertedResidualLayer(const dnn::LayerParams& params)
    : SingleOutputLayer(params)
{
    const char* const what = name.c_str();
    if (blobs.size() != 4 && blobs.size() != 6)
        CV_Error(Error::StsBadArg,
                 cv::format("InvertedResidual '%s': expects the input plus 6 initializers "
                            "(expansion, depthwise and projection weight and bias) or 4 (no "
                            "expansion), got %d",
                            what, int(blobs.size())));
    for (size_t i = 0; i < blobs.size(); ++i)
        if (blobs[i].depth() != CV_32F)
            CV_Error(Error::StsBadArg, cv::format("InvertedResidual '%s': initializer %d must be "
                                                  "float",
                                                  what, int(i) + 1));
    const size_t d = blobs.size() - 4;  // index of the depthwise weight
    const Mat &dw = blobs[d], &pw = blobs[d + 2];
    if (dw.dims != 4 || dw.size[0] < 1 || dw.size[1] != 1 || dw.size[2] < 1 || dw.size[3] < 1)
        CV_Error(Error::StsBadArg,
                 cv::format("InvertedResidual '%s': depthwise weight must be [E,1,kh,kw]", what));
    hiddenChannels_ = dw.size[0];
    if (int(blobs[d + 1].total()) != hiddenChannels_)
        CV_Error(Error::StsBadArg,
                 cv::format("InvertedResidual '%s': depthwise bias must have %d values", what,
                            hiddenChannels_));
    inChannels_ = hiddenChannels_;
    if (d == 2) {
        const Mat& ew = blobs[0];
        if (ew.dims != 4 || ew.size[0] != hiddenChannels_ || ew.size[1] < 1 || ew.size[2] != 1 ||
            ew.size[3] != 1 || int(blobs[1].total()) != hiddenChannels_)
            CV_Error(Error::StsBadArg,
                     cv::format("InvertedResidual '%s': expansion must be a [%d,C,1,1] weight "
                                "and %d bias values",
                                what, hiddenChannels_, hiddenChannels_));
        inChannels_ = ew.size[1];
        expand_ = pointwise::PackedWeights(ew.ptr<float>(), blobs[1].ptr<float>(), hiddenChannels_,
                                           inChannels_);
    }
    if (pw.dims != 4 || pw.size[0] < 1 || pw.size[1] != hiddenChannels_ || pw.size[2] != 1 ||
        pw.size[3] != 1 || int(blobs[d + 3].total()) != pw.size[0])
        CV_Error(Error::StsBadArg,
                 cv::format("InvertedResidual '%s': projection must be an [O,%d,1,1] weight and "
                            "O bias values",
                            what, hiddenChannels_));
    project_ = pointwise::PackedWeights(pw.ptr<float>(), blobs[d + 3].ptr<float>(), pw.size[0],
                                        hiddenChannels_);
    depthwiseWeight_ = dw;
    depthwiseBias_ = blobs[d + 1];
    geometry_ = readConvolutionGeometry(params, "InvertedResidual", dw.size[2], dw.size[3],
                                        hiddenChannels_);
    residual_ = params.get<int>("residual", 0) != 0;
    if (residual_ && (geometry_.stride != 1 || project_.outChannels() != inChannels_ ||
                      geometry_.padTop + geometry_.padBottom != geometry_.kernelH - 1 ||
                      geometry_.padLeft + geometry_.padRight != geometry_.kernelW - 1))
        CV_Error(Error::StsBadArg,
                 cv::format("InvertedResidual '%s': a residual block needs stride 1, padding that "
                            "keeps the plane size and %d output channels",
                            what, inChannels_));
}

Ptr<dnn::Layer> InvertedResidualLayer::create(dnn::LayerParams& params)
{
    return makePtr<InvertedResidualLayer>(params);
}

bool InvertedResidualLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                            std::vector<dnn::MatShape>& outputs,
                                            std::vector<dnn::MatShape>&) const
{
    if (inputs.size() != 1)
        CV_Error(Error::StsBadArg,
                 cv::format("InvertedResidual '%s': expects 1 non-constant input, got %d",
                            name.c_str(), int(inputs.size())));
    const dnn::MatShape& x = inputs[0];
    if (x.size() != 4 || x[1] != inChannels_)
        CV_Error(Error::StsBadArg, cv::format("InvertedResidual '%s': input must be [N,%d,H,W]",
                                              name.c_str(), inChannels_));
    outputs.assign(
        1, convolutionOutputShape(geometry_, x, project_.outChannels(), "InvertedResidual", name));
    return false;
}

void InvertedResidualLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
    const int batch = x.size[0], height = x.size[2], width = x.size[3];
    const int outH = y.size[2], outW = y.size[3];
    const size_t plane = size_t(height) * size_t(width), outPlane = size_t(outH) * size_t(outW);
    if (batch == 0 || outPlane == 0)
        return;
    const ConvolutionGeometry& g = geometry_;
    const int hidden = hiddenChannels_, outChannels = project_.outChannels();
    const int bandRows = bandOutputRows(hidden, width, g.kernelH, g.stride, outH);
    const int bands = (outH + bandRows - 1) / bandRows;
    // Each task walks consecutive bands of one image and reuses the expanded rows they share; a
    // task boundary computes its first band's shared rows again, so an image is cut only as much
    // as the threads need (batch 1, 2 threads: two halves).
    const int chunks = std::min(bands, std::max(1, (getNumThreads() + batch - 1) / batch));
    // A whole band's padded plane, the largest any band needs.
    std::vector<int> bandTapOffsets;
    const depthwise::PaddedPlaneLayout bandLayout =
        depthwise::planLayout(g.kernelH, g.kernelW, g.stride, bandRows, outW, bandTapOffsets);
    const size_t hiddenStride = size_t(bandLayout.rows) * size_t(width);

    const depthwise::PlaneKernel depthwiseKernel = depthwise::selectPlaneKernel();
    const pointwise::TileKernelChoice tile = pointwise::selectTileKernel();
    const int columns = tile.columns;
    auto panelFloats = [&](int depth, size_t pixels) {
        return size_t(depth) * ((pixels + columns - 1) / columns * columns);
    };
    const float* depthwiseWeights = depthwiseWeight_.ptr<float>();
    const float* depthwiseBias = depthwiseBias_.ptr<float>();
    // ReLU6 after the expansion and after the depthwise convolution.
    const float lo = 0.f, hi = 6.f;
    const float none = std::numeric_limits<float>::infinity();

    parallel_for_(Range(0, batch * chunks), [&](const Range& r) {
        std::vector<int> tapOffsets;
        const size_t bandOutPixels = size_t(bandRows) * size_t(outW);
        AutoBuffer<float> expanded(expands() ? size_t(hidden) * hiddenStride : 0),
            expandPanels(expands() ? panelFloats(inChannels_, hiddenStride) : 0),
            padded(size_t(bandLayout.rows) * size_t(bandLayout.rowStride)),
            linearRow(size_t(bandLayout.rowStride)), depthwiseOut(size_t(hidden) * bandOutPixels),
            projectPanels(panelFloats(hidden, bandOutPixels)),
            tail(size_t(pointwise::kTileRows) * columns);
        for (int task = r.start; task < r.end; ++task) {
            const int n = task / chunks, chunk = task % chunks;
            const int firstBand = chunk * bands / chunks, endBand = (chunk + 1) * bands / chunks;
            const float* image = x.ptr<float>(n);
            float* out = y.ptr<float>(n);
            int keptBegin = 0, keptEnd = 0;  // input rows held in `expanded`, from row keptBegin
            for (int band = firstBand; band < endBand; ++band) {
                const int firstOut = band * bandRows, rows = std::min(bandRows, outH - firstOut);
                const depthwise::PaddedPlaneLayout layout =
                    depthwise::planLayout(g.kernelH, g.kernelW, g.stride, rows, outW, tapOffsets);
                // Input rows the band's depthwise window reads, within the plane.
                const int windowTop = firstOut * g.stride - g.padTop;
                const int begin = std::max(0, windowTop);
                const int end = std::min(height, windowTop + layout.rows);
                const float* source = image;  // the depthwise input: x, or its expanded rows
                int sourceHeight = height, sourceFirst = firstOut * g.stride;
                size_t sourceStride = plane;
                if (expands()) {  // begin < end: every pad is smaller than the kernel
                    // Keep the rows this band shares with the last one; expand the rest.
                    int have = 0;
                    if (begin >= keptBegin && begin < keptEnd) {
                        have = keptEnd - begin;
                        if (begin > keptBegin)
                            for (int c = 0; c < hidden; ++c) {
                                float* rowsOf = expanded.data() + size_t(c) * hiddenStride;
                                std::memmove(rowsOf, rowsOf + size_t(begin - keptBegin) * width,
                                             size_t(have) * width * sizeof(float));
                            }
                    }
                    multiplyPixels(expand_, tile, image, plane, size_t(begin + have) * width,
                                   size_t(end - begin - have) * width, lo, hi,
                                   expanded.data() + size_t(have) * width, hiddenStride,
                                   expandPanels.data(), tail.data());
                    keptBegin = begin;
                    keptEnd = end;
                    source = expanded.data();
                    sourceHeight = end - begin;
                    sourceFirst = firstOut * g.stride - begin;
                    sourceStride = hiddenStride;
                }
                const size_t pixels = size_t(rows) * size_t(outW);
                for (int c = 0; c < hidden; ++c) {
                    depthwise::fillPaddedPlane(source + size_t(c) * sourceStride, sourceHeight,
                                               width, g.padTop, g.padLeft, sourceFirst, layout,
                                               padded.data(), linearRow.data(), c > 0);
                    depthwiseKernel(padded.data(), layout,
                                    depthwiseWeights + size_t(c) * layout.taps, depthwiseBias[c],
                                    lo, hi, depthwiseOut.data() + size_t(c) * pixels);
                }
                const size_t first = size_t(firstOut) * size_t(outW);
                multiplyPixels(project_, tile, depthwiseOut.data(), pixels, 0, pixels, -none, none,
                               out + first, outPlane, projectPanels.data(), tail.data());
                if (residual_)
                    for (int o = 0; o < outChannels; ++o) {
                        float* dst = out + size_t(o) * outPlane + first;
                        const float* add = image + size_t(o) * plane + first;
                        for (size_t p = 0; p < pixels; ++p)
                            dst[p] += add[p];
                    }
            }
        }
    });
}

int64 InvertedResidualLayer::getFLOPS(const std::vector<dnn::MatShape>& inputs,
                                      const std::vector<dnn::MatShape>& outputs) const
{
    // Multiply-adds of the three convolutions; the clamps and the residual are one operation per
    // value.
    const dnn::MatShape& x = inputs[0];
    const int64 inPixels = int64(x[0]) * x[2] * x[3];
    const int64 outPixels = int64(dnn::total(outputs[0])) / project_.outChannels();
    const int64 hidden = hiddenChannels_;
    return 2 * (expands() ? inPixels * inChannels_ * hidden : 0) +
           2 * outPixels * hidden *
               (int64(geometry_.kernelH) * geometry_.kernelW + project_.outChannels());
}

}  // namespace anomaly
}  // namespace cv
