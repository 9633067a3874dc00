// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "dense_conv_layer.hpp"

#include "builtin_convolution.hpp"

#include "precomp.hpp"

#include <opencv2/core/hal/intrin.hpp>

#include <opencv2/dnn/shape_utils.hpp>

#include <algorithm>

namespace cv {
namespace anomaly {

const char* const kDenseConvType = "org.opencv.anomaly.DenseConv";

namespace {

/** count values x[ix0], x[ix0 + stride], ... of one input row into dst, 0 where the index
falls outside [0, width). */
void gatherRow(const float* row, int width, int ix0, int stride, int count, float* dst)
{
    const int last = ix0 + (count - 1) * stride;
    int j = 0;
    if (ix0 >= 0 && last < width) {
        if (stride == 1) {
            std::copy(row + ix0, row + ix0 + count, dst);
            return;
        }
#if CV_SIMD
        // Stride 2 (the stems): the even lanes of deinterleaving loads, which also read the odd
        // value after the last one, so the row must hold it.
        if (stride == 2 && last + 1 < width)
            for (; j + v_float32::nlanes <= count; j += v_float32::nlanes) {
                v_float32 even, odd;
                v_load_deinterleave(row + ix0 + 2 * j, even, odd);
                v_store(dst + j, even);
            }
#endif
        for (; j < count; ++j)
            dst[j] = row[ix0 + j * stride];
        return;
    }
    for (; j < count; ++j) {
        const int ix = ix0 + j * stride;
        dst[j] = unsigned(ix) < unsigned(width) ? row[ix] : 0.f;
    }
}

/** Gathers the C x kh x kw inputs of output pixels [first, first + count) of one image into a
[C * kh * kw][columns] panel (zeros for padding and for the columns past count): the panel's row
(c, u, v) holds x[c, i * stride - top + u, j * stride - left + v] for each output pixel (i, j).
The pixels of a panel lie in one output row except on planes whose width is not a multiple of the
panel's. */
void gatherPanel(const float* image, int height, int width, const ConvolutionGeometry& g,
                 int channels, int outW, size_t first, int count, int columns, float* panel)
{
    const size_t plane = size_t(height) * size_t(width);
    const int oy = int(first / size_t(outW)), ox = int(first % size_t(outW));
    const int pieces = ox + count <= outW ? 1 : count;  // one row, else pixel by pixel
    for (int c = 0; c < channels; ++c)
        for (int u = 0; u < g.kernelH; ++u)
            for (int v = 0; v < g.kernelW; ++v, panel += columns) {
                const float* src = image + size_t(c) * plane;
                for (int piece = 0; piece < pieces; ++piece) {
                    const size_t p = first + size_t(piece);
                    const int y = pieces == 1 ? oy : int(p / size_t(outW));
                    const int x = pieces == 1 ? ox : int(p % size_t(outW));
                    const int n = pieces == 1 ? count : 1;
                    const int iy = y * g.stride - g.padTop + u;
                    if (unsigned(iy) >= unsigned(height))
                        std::fill(panel + piece, panel + piece + n, 0.f);
                    else
                        gatherRow(src + size_t(iy) * size_t(width), width,
                                  x * g.stride - g.padLeft + v, g.stride, n, panel + piece);
                }
                std::fill(panel + count, panel + columns, 0.f);
            }
}

}  // namespace

DenseConvLayer::DenseConvLayer(const dnn::LayerParams& params) : SingleOutputLayer(params)
{
    const char* const what = name.c_str();
    if (blobs.size() != 2)
        CV_Error(Error::StsBadArg,
                 cv::format("DenseConv '%s': expects the input plus a weight and a bias "
                            "initializer, got %d initializer(s)",
                            what, int(blobs.size())));
    const Mat &weight = blobs[0], &bias = blobs[1];
    if (weight.dims != 4 || weight.depth() != CV_32F || weight.size[0] < 1 || weight.size[1] < 1 ||
        weight.size[2] < 1 || weight.size[3] < 1)
        CV_Error(
            Error::StsBadArg,
            cv::format("DenseConv '%s': weight must be a float [O,C,kh,kw] initializer", what));
    const int outChannels = weight.size[0];
    if (bias.depth() != CV_32F || int(bias.total()) != outChannels)
        CV_Error(Error::StsBadArg,
                 cv::format("DenseConv '%s': bias must be a float initializer with %d values", what,
                            outChannels));
    inChannels_ = weight.size[1];
    geometry_ = readConvolutionGeometry(params, "DenseConv", weight.size[2], weight.size[3], 1);
    weights_ = pointwise::PackedWeights(weight.ptr<float>(), bias.ptr<float>(), outChannels,
                                        inChannels_ * geometry_.kernelH * geometry_.kernelW);
}

Ptr<dnn::Layer> DenseConvLayer::create(dnn::LayerParams& params)
{
    Ptr<DenseConvLayer> layer = makePtr<DenseConvLayer>(params);  // validates params
    if (builtinConvolutionRequested())
        if (Ptr<dnn::Layer> builtin = createBuiltinConvolution(params, layer->geometry_))
            return builtin;
    return layer;
}

bool DenseConvLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                     std::vector<dnn::MatShape>& outputs,
                                     std::vector<dnn::MatShape>&) const
{
    if (inputs.size() != 1)
        CV_Error(Error::StsBadArg,
                 cv::format("DenseConv '%s': expects 1 non-constant input, got %d", name.c_str(),
                            int(inputs.size())));
    const dnn::MatShape& x = inputs[0];
    if (x.size() != 4 || x[1] != inChannels_)
        CV_Error(Error::StsBadArg,
                 cv::format("DenseConv '%s': input must be [N,%d,H,W] for its weight", name.c_str(),
                            inChannels_));
    outputs.assign(1,
                   convolutionOutputShape(geometry_, x, weights_.outChannels(), "DenseConv", name));
    return false;
}

void DenseConvLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
    const int batch = x.size[0], height = x.size[2], width = x.size[3];
    const int outW = y.size[3];
    const size_t pixels = size_t(y.size[2]) * size_t(outW);
    if (batch == 0 || pixels == 0)
        return;
    const pointwise::TileKernelChoice kernel = pointwise::selectTileKernel();
    const int columns = kernel.columns, depth = weights_.inChannels();
    // Blocks of panels as in PointwiseConv, bounded in bytes (a 3x3 kernel over 512 channels is
    // 4608 floats per pixel): each gathered once, then every strip of output channels over it
    // while it is in cache.
    const int panels = int((pixels + columns - 1) / columns);
    const int blockPanels = pointwise::blockPanels(depth, columns, panels);
    const size_t blockPixels = size_t(blockPanels) * columns;
    const int blocks = int((pixels + blockPixels - 1) / blockPixels);

    parallel_for_(Range(0, batch * blocks), [&](const Range& r) {
        AutoBuffer<float> panelBuffer(size_t(blockPanels) * depth * columns),
            tail(size_t(pointwise::kTileRows) * columns);
        for (int task = r.start; task < r.end; ++task) {
            const int n = task / blocks;
            const size_t firstPixel = size_t(task % blocks) * blockPixels;
            const size_t count = std::min(blockPixels, pixels - firstPixel);
            for (size_t first = 0; first < count; first += size_t(columns))
                gatherPanel(x.ptr<float>(n), height, width, geometry_, inChannels_, outW,
                            firstPixel + first, int(std::min<size_t>(columns, count - first)),
                            columns,
                            panelBuffer.data() + first / size_t(columns) * depth * columns);
            weights_.multiplyPanels(kernel, panelBuffer.data(), count, 0, weights_.strips(),
                                    clamp_.lo, clamp_.hi, y.ptr<float>(n) + firstPixel, pixels,
                                    tail.data());
        }
    });
}

bool DenseConvLayer::setActivation(const Ptr<dnn::ActivationLayer>& layer)
{
    return clamp_.absorb(layer);
}

int64 DenseConvLayer::getFLOPS(const std::vector<dnn::MatShape>&,
                               const std::vector<dnn::MatShape>& outputs) const
{
    // One multiply and one add per input value a kernel reads.
    return 2 * int64(dnn::total(outputs[0])) * weights_.inChannels();
}

}  // namespace anomaly
}  // namespace cv
