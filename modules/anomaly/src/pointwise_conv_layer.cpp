// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "pointwise_conv_layer.hpp"

#include "builtin_convolution.hpp"
#include "pointwise_conv_kernel.hpp"

#include "precomp.hpp"
#include "simd_exp.hpp"
#include "simd_lanes.hpp"

#include <opencv2/dnn/shape_utils.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace cv {
namespace anomaly {

const char* const kPointwiseConvType = "org.opencv.anomaly.PointwiseConv";

namespace pointwise {

TileKernelChoice selectTileKernel()
{
#ifdef ANOMALY_HAVE_AVX2_KERNEL
    if (avx2KernelsUsable())
        return {multiplyTileAvx2, kAvx2TileColumns};
#endif
    return {multiplyTile<UniversalLanes>, tileColumns(UniversalLanes::kLanes)};
}

int blockPanels(int depth, int columns, int panels)
{
    constexpr size_t kBlockBytes = 128 * 1024;
    constexpr int kMaxBlockPanels = 16;
    const size_t panelBytes = size_t(depth) * size_t(columns) * sizeof(float);
    return std::min({panels, kMaxBlockPanels, std::max(1, int(kBlockBytes / panelBytes))});
}

namespace {

/** packPanel of a whole panel: a copy of known size per channel, which the compiler turns into a
few vector moves instead of a call to memmove for 32 or 64 bytes. */
template <int kColumns>
void packWholePanel(const float* image, int channels, size_t pixels, size_t first, float* panel)
{
    for (int c = 0; c < channels; ++c, panel += kColumns)
        std::memcpy(panel, image + size_t(c) * pixels + first, kColumns * sizeof(float));
}

}  // namespace

// The panel is what the tile kernel reads contiguously; reading the planes directly would stride
// by a whole plane per channel, which on 64x64 and 128x128 planes maps every channel onto the
// same few cache sets.
void packPanel(const float* image, int channels, size_t pixels, size_t first, int count,
               int columns, float* panel)
{
    if (count == columns && columns == 16)
        return packWholePanel<16>(image, channels, pixels, first, panel);
    if (count == columns && columns == 8)
        return packWholePanel<8>(image, channels, pixels, first, panel);
    for (int c = 0; c < channels; ++c, panel += columns) {
        const float* src = image + size_t(c) * pixels + first;
        std::copy(src, src + count, panel);
        std::fill(panel + count, panel + columns, 0.f);
    }
}

void packPanels(const float* image, int channels, size_t pixels, size_t first, size_t count,
                int columns, float* panels)
{
    for (size_t p = 0; p < count; p += size_t(columns))
        packPanel(image, channels, pixels, first + p, int(std::min<size_t>(columns, count - p)),
                  columns, panels + p / size_t(columns) * size_t(channels) * columns);
}

PackedWeights::PackedWeights(const float* weight, const float* bias, int outChannels,
                             int inChannels)
    : PackedWeights(weight, size_t(inChannels), 1, bias, outChannels, inChannels)
{
}

PackedWeights::PackedWeights(const float* weight, size_t outStride, size_t inStride,
                             const float* bias, int outChannels, int inChannels)
    : outChannels_(outChannels), inChannels_(inChannels)
{
    const int strips = (outChannels + kTileRows - 1) / kTileRows;
    weights_.assign(size_t(strips) * kTileRows * inChannels, 0.f);
    bias_.assign(size_t(strips) * kTileRows, 0.f);
    for (int o = 0; o < outChannels; ++o) {
        float* strip = weights_.data() + size_t(o / kTileRows) * kTileRows * inChannels;
        for (int i = 0; i < inChannels; ++i)
            strip[size_t(i) * kTileRows + o % kTileRows] =
                weight[size_t(o) * outStride + size_t(i) * inStride];
        bias_[size_t(o)] = bias ? bias[o] : 0.f;
    }
}

void PackedWeights::multiplyPanels(const TileKernelChoice& kernel, const float* panels,
                                   size_t pixels, int firstStrip, int endStrip, float lo, float hi,
                                   float* dst, size_t dstStride, float* tail) const
{
    const int columns = kernel.columns, depth = inChannels_;
    const size_t panelFloats = size_t(depth) * columns;
    for (int s = firstStrip; s < endStrip; ++s) {
        const int rows = std::min(kTileRows, outChannels_ - s * kTileRows);
        const float* weights = weights_.data() + size_t(s) * kTileRows * depth;
        const float* bias = bias_.data() + size_t(s) * kTileRows;
        float* stripDst = dst + size_t(s) * kTileRows * dstStride;
        for (size_t first = 0; first < pixels; first += size_t(columns)) {
            const float* panel = panels + first / size_t(columns) * panelFloats;
            const int count = int(std::min<size_t>(columns, pixels - first));
            if (count == columns) {
                kernel.multiply(depth, weights, panel, bias, lo, hi, stripDst + first, dstStride,
                                rows);
                continue;
            }
            // A partial last panel: a full tile into scratch, then the part that exists.
            kernel.multiply(depth, weights, panel, bias, lo, hi, tail, size_t(columns), rows);
            for (int row = 0; row < rows; ++row)
                std::copy(tail + size_t(row) * columns, tail + size_t(row) * columns + count,
                          stripDst + size_t(row) * dstStride + first);
        }
    }
}

}  // namespace pointwise

using pointwise::kTileRows;

namespace {

/** x = 1 / (1 + e^-x) over a row: the vector kernel, then the values that fill no vector. */
void logisticInPlace(float* x, int length)
{
#ifdef ANOMALY_HAVE_AVX2_KERNEL
    int i = avx2KernelsUsable() ? logisticVectorsAvx2(x, length)
                                : logisticVectors<UniversalLanes>(x, length);
#else
    int i = logisticVectors<UniversalLanes>(x, length);
#endif
    for (; i < length; ++i)
        x[i] = 1.f / (1.f + std::exp(-x[i]));
}

}  // namespace

PointwiseConvLayer::PointwiseConvLayer(const dnn::LayerParams& params) : SingleOutputLayer(params)
{
    const char* const what = name.c_str();
    if (blobs.size() != 2)
        CV_Error(Error::StsBadArg,
                 cv::format("PointwiseConv '%s': expects the input plus a weight and a bias "
                            "initializer, got %d initializer(s)",
                            what, int(blobs.size())));
    const Mat &weight = blobs[0], &bias = blobs[1];
    if (weight.dims != 4 || weight.depth() != CV_32F || weight.size[0] < 1 || weight.size[1] < 1 ||
        weight.size[2] != 1 || weight.size[3] != 1)
        CV_Error(
            Error::StsBadArg,
            cv::format("PointwiseConv '%s': weight must be a float [O,I,1,1] initializer", what));
    const int outChannels = weight.size[0];
    if (bias.depth() != CV_32F || int(bias.total()) != outChannels)
        CV_Error(Error::StsBadArg,
                 cv::format("PointwiseConv '%s': bias must be a float initializer with %d values",
                            what, outChannels));
    weights_ = pointwise::PackedWeights(weight.ptr<float>(), bias.ptr<float>(), outChannels,
                                        weight.size[1]);
}

Ptr<dnn::Layer> PointwiseConvLayer::create(dnn::LayerParams& params)
{
    Ptr<PointwiseConvLayer> layer = makePtr<PointwiseConvLayer>(params);  // validates params
    if (builtinConvolutionRequested())
        return createBuiltinConvolution(params, ConvolutionGeometry{1, 1, 1, 0, 0, 0, 0, 1});
    return layer;
}

bool PointwiseConvLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                         std::vector<dnn::MatShape>& outputs,
                                         std::vector<dnn::MatShape>&) const
{
    if (inputs.size() != 1)
        CV_Error(Error::StsBadArg, cv::format("PointwiseConv '%s': expects 1 non-constant input, "
                                              "got %d",
                                              name.c_str(), int(inputs.size())));
    const dnn::MatShape& x = inputs[0];
    const int in = weights_.inChannels(), out = weights_.outChannels();
    if (x.size() != 4 || x[1] != in)
        CV_Error(Error::StsBadArg,
                 cv::format("PointwiseConv '%s': input must be [N,%d,H,W] for its [%d,%d,1,1] "
                            "weight",
                            name.c_str(), in, out, in));
    outputs.assign(1, dnn::MatShape{x[0], out, x[2], x[3]});
    return false;
}

void PointwiseConvLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
    const int batch = x.size[0];
    const size_t pixels = size_t(x.size[2]) * size_t(x.size[3]);
    if (batch == 0 || pixels == 0)  // an empty plane (a graph may shrink one to nothing)
        return;
    const pointwise::TileKernelChoice kernel = pointwise::selectTileKernel();
    const int columns = kernel.columns;
    const int depth = weights_.inChannels();
    const int strips = weights_.strips();

    // A task packs a block of panels once, then runs strip by strip over it, so that each output
    // row is written in runs of up to 256 contiguous pixels by six write streams per task rather
    // than one 16-pixel piece of every output row per panel (the 64x64 and 128x128 layers of
    // EfficientNet-Lite0 ran 4 % faster with 1 thread and 15 % with 2).
    const int panels = int((pixels + columns - 1) / columns);
    const int blockPanels = pointwise::blockPanels(depth, columns, panels);
    const int blocks = (panels + blockPanels - 1) / blockPanels;
    // Small planes (16x16: one block per image) would leave threads idle: split the strips too.
    const int blockTasks = batch * blocks;
    const int stripGroups =
        std::min(strips, std::max(1, (4 * getNumThreads() + blockTasks - 1) / blockTasks));

    // Ranges of whole blocks where the strips are split (a task per strip group and thread
    // would pack the same block once per group).
    const double rangesWanted =
        stripGroups > 1 ? double(blockTasks) * getNumThreads() : double(blockTasks);
    parallel_for_(
        Range(0, blockTasks * stripGroups),
        [&](const Range& r) {
            AutoBuffer<float> panelBuffer(size_t(blockPanels) * depth * columns),
                tail(size_t(kTileRows) * columns);
            int packedBlockTask = -1;
            for (int task = r.start; task < r.end; ++task) {
                const int group = task % stripGroups, blockTask = task / stripGroups;
                const int n = blockTask / blocks, block = blockTask % blocks;
                const size_t firstPixel = size_t(block) * blockPanels * columns;
                const size_t blockPixels =
                    std::min(size_t(blockPanels) * columns, pixels - firstPixel);
                // Consecutive tasks of a range share a block when the strips are split.
                if (blockTask != packedBlockTask)
                    pointwise::packPanels(x.ptr<float>(n), depth, pixels, firstPixel, blockPixels,
                                          columns, panelBuffer.data());
                packedBlockTask = blockTask;
                const int firstStrip = group * strips / stripGroups,
                          endStrip = (group + 1) * strips / stripGroups;
                float* out = y.ptr<float>(n) + firstPixel;
                weights_.multiplyPanels(kernel, panelBuffer.data(), blockPixels, firstStrip,
                                        endStrip, clamp_.lo, clamp_.hi, out, pixels, tail.data());
                if (sigmoid_)
                    for (int o = firstStrip * kTileRows,
                             end = std::min(endStrip * kTileRows, weights_.outChannels());
                         o < end; ++o)
                        logisticInPlace(out + size_t(o) * pixels, int(blockPixels));
            }
        },
        rangesWanted);
}

bool PointwiseConvLayer::setActivation(const Ptr<dnn::ActivationLayer>& layer)
{
    if (layer.empty())
        sigmoid_ = false;
    else if (sigmoid_)
        return false;  // an activation after the Sigmoid cannot run before it, as the clamp does
    else if (!layer.dynamicCast<dnn::SigmoidLayer>().empty())
        return sigmoid_ = true;
    return clamp_.absorb(layer);
}

int64 PointwiseConvLayer::getFLOPS(const std::vector<dnn::MatShape>&,
                                   const std::vector<dnn::MatShape>& outputs) const
{
    // One multiply and one add per input channel and output value.
    return 2 * int64(dnn::total(outputs[0])) * weights_.inChannels();
}

}  // namespace anomaly
}  // namespace cv
