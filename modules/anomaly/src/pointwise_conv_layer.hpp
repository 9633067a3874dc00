// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.PointwiseConv (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_POINTWISE_CONV_LAYER_HPP
#define OPENCV_ANOMALY_POINTWISE_CONV_LAYER_HPP

#include "fused_clamp.hpp"
#include "pointwise_conv_kernel.hpp"
#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

extern const char* const kPointwiseConvType;

namespace pointwise {

using TileKernel = void (*)(int, const float*, const float*, const float*, float, float, float*,
                            size_t, int);

/** How many panels of `depth` x `columns` floats a task packs into one block (at most `panels`):
up to 16, within about 128 KiB so that the block is still in the core's L2 cache when the next
strip of output channels reads it. */
int blockPanels(int depth, int columns, int panels);

/** A tile kernel and the pixel-block width its input panels must have. */
struct TileKernelChoice
{
    TileKernel multiply;
    int columns;
};

/** multiplyTile at AVX2 + FMA width where the CPU has both, at the build's baseline otherwise. */
TileKernelChoice selectTileKernel();

/** Copies pixels [first, first + count) of every channel of one image (channels x pixels, row
stride `pixels`) into a [channels][columns] panel, zeros past count. */
void packPanel(const float* image, int channels, size_t pixels, size_t first, int count,
               int columns, float* panel);

/** packPanel for pixels [first, first + count) in consecutive panels of `columns` pixels (the last
partial). */
void packPanels(const float* image, int channels, size_t pixels, size_t first, size_t count,
                int columns, float* panels);

/** The weights of a 1x1 convolution as the tile kernel reads them: strips of kTileRows output
channels, each [inChannels][kTileRows], zero rows past the last channel; the bias zero-padded to
whole strips. */
class PackedWeights
{
public:
    PackedWeights() = default;
    /** weight: [outChannels][inChannels], bias: outChannels values. */
    PackedWeights(const float* weight, const float* bias, int outChannels, int inChannels);
    /** Weight (o, i) at weight[o * outStride + i * inStride] (a transposed or strided matrix),
    bias: outChannels values, or null for zeros. */
    PackedWeights(const float* weight, size_t outStride, size_t inStride, const float* bias,
                  int outChannels, int inChannels);

    int outChannels() const { return outChannels_; }
    int inChannels() const { return inChannels_; }
    int strips() const { return int(bias_.size()) / kTileRows; }

    /** y = clamp(W x + b, lo, hi) for the output channels of strips [firstStrip, endStrip) and
    `pixels` pixels held in consecutive packed panels (packPanel; the last may be partial): output
    channel o of pixel p goes to dst[o * dstStride + p]. Strip by strip over all panels, so each
    output row is written in one run. tail: kTileRows * columns floats of scratch. */
    void multiplyPanels(const TileKernelChoice& kernel, const float* panels, size_t pixels,
                        int firstStrip, int endStrip, float lo, float hi, float* dst,
                        size_t dstStride, float* tail) const;

private:
    int outChannels_ = 0, inChannels_ = 0;
    std::vector<float> weights_, bias_;
};

}  // namespace pointwise

/** 1x1 convolution: y[n,o,p] = B[o] + sum_i W[o,i] x[n,i,p] for every pixel p, i.e. one matrix
product per image.

OpenCV 4.6 runs the 1x1 convolutions of a MobileNet-style backbone (16 to 672 channels on planes
of 16x16 to 128x128) at 20-30 GFLOP/s on a core that multiplies matrices at 75: they were most of
the backbone's time once the depthwise layers were fast. This layer packs the weights once into
strips of six output channels, packs each block of pixels once per image into a contiguous
[channels][block] panel, and accumulates a 6 x block tile in registers with vector multiply-adds
(pointwise_conv_kernel.hpp; AVX2 + FMA where the CPU has them, the build's baseline width
otherwise). A following ReLU or ReLU6 is fused into it by the net (setActivation), and a
following Sigmoid (OpenCV's own computes one std::exp at a time: 80 us for a 128 x 16 x 16 gate)
runs on each block of outputs while it is in cache, with the vector exp. */
class PointwiseConvLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit PointwiseConvLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;
    bool setActivation(const Ptr<dnn::ActivationLayer>& layer) override;
    int64 getFLOPS(const std::vector<dnn::MatShape>& inputs,
                   const std::vector<dnn::MatShape>& outputs) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;

    pointwise::PackedWeights weights_;
    FusedClamp clamp_;
    bool sigmoid_ = false;  //!< a fused Sigmoid, applied after the clamp
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_POINTWISE_CONV_LAYER_HPP
