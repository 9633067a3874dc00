// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The inner loop of the PointwiseConv layer, written once for any vector width: the layer's own
// file instantiates it on OpenCV's universal intrinsics (the build's baseline, SSE2-SSE3 on x86),
// avx2_kernels.cpp on 256-bit AVX2 + FMA, chosen at run time.
#ifndef OPENCV_ANOMALY_POINTWISE_CONV_KERNEL_HPP
#define OPENCV_ANOMALY_POINTWISE_CONV_KERNEL_HPP

#include <cstddef>

namespace cv {
namespace anomaly {
namespace pointwise {

/** Output channels per tile. 6 rows x 2 vectors of accumulators, 2 input vectors and a broadcast
weight use 15 of the 16 vector registers of x86-64 (SSE or AVX2). */
constexpr int kTileRows = 6;

/** Columns (pixels) per tile for a kernel of `lanes` floats per vector; 8 without SIMD. */
constexpr int tileColumns(int lanes)
{
    return lanes > 0 ? 2 * lanes : 8;
}

/** One tile of y = clamp(W x + b, lo, hi): kTileRows output channels by tileColumns pixels, the
sum over `depth` input channels. weights: [depth][kTileRows] (rows past the last output channel
are zero), input: [depth][tileColumns] (columns past the plane are zero), bias: kTileRows values.
The first `rows` rows of the tile are stored at dst, dst + dstStride, ... Every tile runs the
same instruction sequence, so an image's values do not depend on its position in the batch.
Only intrinsics and arithmetic inside: this body is compiled with different instruction sets in
different files, so it calls no shared inline functions. */
template <class Lanes>
void multiplyTile(int depth, const float* weights, const float* input, const float* bias, float lo,
                  float hi, float* dst, size_t dstStride, int rows)
{
    if constexpr (Lanes::kLanes > 0) {
        using V = typename Lanes::V;
        constexpr int lanes = Lanes::kLanes;
        // Named accumulators, not an array: they must live in registers for the whole loop.
        V c00 = Lanes::broadcast(bias[0]), c01 = c00;
        V c10 = Lanes::broadcast(bias[1]), c11 = c10;
        V c20 = Lanes::broadcast(bias[2]), c21 = c20;
        V c30 = Lanes::broadcast(bias[3]), c31 = c30;
        V c40 = Lanes::broadcast(bias[4]), c41 = c40;
        V c50 = Lanes::broadcast(bias[5]), c51 = c50;
        for (int k = 0; k < depth; ++k, weights += kTileRows, input += 2 * lanes) {
            const V x0 = Lanes::load(input), x1 = Lanes::load(input + lanes);
            V w = Lanes::broadcast(weights[0]);
            c00 = Lanes::fma(w, x0, c00);
            c01 = Lanes::fma(w, x1, c01);
            w = Lanes::broadcast(weights[1]);
            c10 = Lanes::fma(w, x0, c10);
            c11 = Lanes::fma(w, x1, c11);
            w = Lanes::broadcast(weights[2]);
            c20 = Lanes::fma(w, x0, c20);
            c21 = Lanes::fma(w, x1, c21);
            w = Lanes::broadcast(weights[3]);
            c30 = Lanes::fma(w, x0, c30);
            c31 = Lanes::fma(w, x1, c31);
            w = Lanes::broadcast(weights[4]);
            c40 = Lanes::fma(w, x0, c40);
            c41 = Lanes::fma(w, x1, c41);
            w = Lanes::broadcast(weights[5]);
            c50 = Lanes::fma(w, x0, c50);
            c51 = Lanes::fma(w, x1, c51);
        }
        const V vLo = Lanes::broadcast(lo), vHi = Lanes::broadcast(hi);
        const V row[kTileRows][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                     {c30, c31}, {c40, c41}, {c50, c51}};
        for (int r = 0; r < rows; ++r, dst += dstStride) {
            Lanes::store(dst, Lanes::clamp(row[r][0], vLo, vHi));
            Lanes::store(dst + lanes, Lanes::clamp(row[r][1], vLo, vHi));
        }
    } else {
        constexpr int columns = tileColumns(0);
        for (int r = 0; r < rows; ++r, dst += dstStride)
            for (int j = 0; j < columns; ++j) {
                float acc = bias[r];
                for (int k = 0; k < depth; ++k)
                    acc += weights[k * kTileRows + r] * input[k * columns + j];
                dst[j] = acc < lo ? lo : acc > hi ? hi : acc;
            }
    }
}

#ifdef ANOMALY_HAVE_AVX2_KERNEL
/** tileColumns of the AVX2 kernel. */
constexpr int kAvx2TileColumns = tileColumns(8);
/** multiplyTile on AVX2 + FMA (avx2_kernels.cpp); call only where the CPU has both. */
void multiplyTileAvx2(int depth, const float* weights, const float* input, const float* bias,
                      float lo, float hi, float* dst, size_t dstStride, int rows);
#endif

}  // namespace pointwise
}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_POINTWISE_CONV_KERNEL_HPP
