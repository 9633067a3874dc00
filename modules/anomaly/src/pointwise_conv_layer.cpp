// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "pointwise_conv_layer.hpp"

#include "builtin_convolution.hpp"
#include "pointwise_conv_kernel.hpp"

#include "precomp.hpp"
#include "simd_lanes.hpp"

#include <opencv2/dnn/shape_utils.hpp>

#include <algorithm>

namespace cv {
namespace anomaly {

const char* const kPointwiseConvType = "org.opencv.anomaly.PointwiseConv";

namespace {

using pointwise::kTileRows;

using TileKernel = void (*)(int, const float*, const float*, const float*, float, float, float*,
                            size_t, int);

/** A tile kernel and the pixel-block width its input panels must have. */
struct TileKernelChoice
{
    TileKernel multiply;
    int columns;
};

TileKernelChoice selectKernel()
{
#ifdef ANOMALY_HAVE_AVX2_KERNEL
    if (avx2KernelsUsable())
        return {pointwise::multiplyTileAvx2, pointwise::kAvx2TileColumns};
#endif
    return {pointwise::multiplyTile<UniversalLanes>,
            pointwise::tileColumns(UniversalLanes::kLanes)};
}

/** Copies pixels [first, first + count) of every channel of one image (channels x pixels, row
stride `pixels`) into a [channels][columns] panel, zeros past count. The panel is what the tile
kernel reads contiguously; reading the planes directly would stride by a whole plane per channel,
which on 64x64 and 128x128 planes maps every channel onto the same few cache sets. */
void packPanel(const float* image, int channels, size_t pixels, size_t first, int count,
               int columns, float* panel)
{
    for (int c = 0; c < channels; ++c, panel += columns) {
        const float* src = image + size_t(c) * pixels + first;
        std::copy(src, src + count, panel);
        std::fill(panel + count, panel + columns, 0.f);
    }
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
    outChannels_ = weight.size[0];
    inChannels_ = weight.size[1];
    if (bias.depth() != CV_32F || int(bias.total()) != outChannels_)
        CV_Error(Error::StsBadArg,
                 cv::format("PointwiseConv '%s': bias must be a float initializer with %d values",
                            what, outChannels_));

    const int strips = (outChannels_ + kTileRows - 1) / kTileRows;
    packedWeights_.assign(size_t(strips) * kTileRows * inChannels_, 0.f);
    packedBias_.assign(size_t(strips) * kTileRows, 0.f);
    const float* w = weight.ptr<float>();
    for (int o = 0; o < outChannels_; ++o) {
        float* strip = packedWeights_.data() + size_t(o / kTileRows) * kTileRows * inChannels_;
        for (int i = 0; i < inChannels_; ++i)
            strip[size_t(i) * kTileRows + o % kTileRows] = w[size_t(o) * inChannels_ + i];
        packedBias_[o] = bias.ptr<float>()[o];
    }
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
    if (x.size() != 4 || x[1] != inChannels_)
        CV_Error(Error::StsBadArg,
                 cv::format("PointwiseConv '%s': input must be [N,%d,H,W] for its [%d,%d,1,1] "
                            "weight",
                            name.c_str(), inChannels_, outChannels_, inChannels_));
    outputs.assign(1, dnn::MatShape{x[0], outChannels_, x[2], x[3]});
    return false;
}

void PointwiseConvLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
    const int batch = x.size[0];
    const size_t pixels = size_t(x.size[2]) * size_t(x.size[3]);
    if (batch == 0 || pixels == 0)  // an empty plane (a graph may shrink one to nothing)
        return;
    const TileKernelChoice kernel = selectKernel();
    const int columns = kernel.columns;
    const int depth = inChannels_;
    const int strips = int(packedBias_.size()) / kTileRows;

    // A task packs a block of panels once, then runs strip by strip over it, so that each output
    // row is written in runs of up to 256 contiguous pixels by six write streams per task rather
    // than one 16-pixel piece of every output row per panel (the 64x64 and 128x128 layers of
    // EfficientNet-Lite0 ran 4 % faster with 1 thread and 15 % with 2). The block stays within
    // about 128 KiB so that it is still in the core's L2 cache when the next strip reads it.
    constexpr size_t kBlockBytes = 128 * 1024;
    constexpr int kMaxBlockPanels = 16;
    const size_t panelBytes = size_t(depth) * columns * sizeof(float);
    const int panels = int((pixels + columns - 1) / columns);
    const int blockPanels =
        std::min({panels, kMaxBlockPanels, std::max(1, int(kBlockBytes / panelBytes))});
    const int blocks = (panels + blockPanels - 1) / blockPanels;
    // Small planes (16x16: one block per image) would leave threads idle: split the strips too.
    const int blockTasks = batch * blocks;
    const int stripGroups =
        std::min(strips, std::max(1, (4 * getNumThreads() + blockTasks - 1) / blockTasks));

    parallel_for_(Range(0, blockTasks * stripGroups), [&](const Range& r) {
        AutoBuffer<float> panelBuffer(size_t(blockPanels) * depth * columns),
            tail(size_t(kTileRows) * columns);
        for (int task = r.start; task < r.end; ++task) {
            const int group = task % stripGroups, blockTask = task / stripGroups;
            const int n = blockTask / blocks, block = blockTask % blocks;
            const int firstPanel = block * blockPanels;
            const int blockSize = std::min(blockPanels, panels - firstPanel);
            for (int i = 0; i < blockSize; ++i) {
                const size_t first = size_t(firstPanel + i) * columns;
                packPanel(x.ptr<float>(n), depth, pixels, first,
                          int(std::min<size_t>(columns, pixels - first)), columns,
                          panelBuffer.data() + size_t(i) * depth * columns);
            }
            const int firstStrip = group * strips / stripGroups;
            const int endStrip = (group + 1) * strips / stripGroups;
            for (int s = firstStrip; s < endStrip; ++s) {
                const int rows = std::min(kTileRows, outChannels_ - s * kTileRows);
                const float* weights = packedWeights_.data() + size_t(s) * kTileRows * depth;
                const float* bias = packedBias_.data() + size_t(s) * kTileRows;
                for (int i = 0; i < blockSize; ++i) {
                    const size_t first = size_t(firstPanel + i) * columns;
                    const int count = int(std::min<size_t>(columns, pixels - first));
                    const float* panel = panelBuffer.data() + size_t(i) * depth * columns;
                    float* dst = y.ptr<float>(n) + size_t(s) * kTileRows * pixels + first;
                    if (count == columns) {
                        kernel.multiply(depth, weights, panel, bias, clamp_.lo, clamp_.hi, dst,
                                        pixels, rows);
                        continue;
                    }
                    // The plane's last, partial panel: a full tile into scratch, then the part
                    // that exists.
                    kernel.multiply(depth, weights, panel, bias, clamp_.lo, clamp_.hi, tail.data(),
                                    size_t(columns), rows);
                    for (int row = 0; row < rows; ++row)
                        std::copy(tail.data() + size_t(row) * columns,
                                  tail.data() + size_t(row) * columns + count,
                                  dst + size_t(row) * pixels);
                }
            }
        }
    });
}

bool PointwiseConvLayer::setActivation(const Ptr<dnn::ActivationLayer>& layer)
{
    return clamp_.absorb(layer);
}

int64 PointwiseConvLayer::getFLOPS(const std::vector<dnn::MatShape>&,
                                   const std::vector<dnn::MatShape>& outputs) const
{
    // One multiply and one add per input channel and output value.
    return 2 * int64(dnn::total(outputs[0])) * inChannels_;
}

}  // namespace anomaly
}  // namespace cv
