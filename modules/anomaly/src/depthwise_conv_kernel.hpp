// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The inner loop of the DepthwiseConv layer, written once for any vector width: the layer's own
// file instantiates it on OpenCV's universal intrinsics (the build's baseline, SSE2-SSE3 on x86),
// avx2_kernels.cpp on 256-bit AVX2 + FMA, chosen at run time.
#ifndef OPENCV_ANOMALY_DEPTHWISE_CONV_KERNEL_HPP
#define OPENCV_ANOMALY_DEPTHWISE_CONV_KERNEL_HPP

#include <cstddef>

namespace cv {
namespace anomaly {
namespace depthwise {

/** One plane's input as the kernel reads it: the plane copied once with its zero padding, each
padded row split into `stride` phases (phase p holds padded columns p, p + s, p + 2s, ...), so that
for every stride the tap (ky, kx) of output column ox reads element ox + kx / s of phase kx % s:
consecutive output columns read consecutive floats, which is what a vector load needs. */
struct PaddedPlaneLayout
{
    int phaseLength;        //!< floats per phase: the output width plus the taps' reach
    int rowStride;          //!< floats per padded row: stride * phaseLength
    int rows;               //!< padded rows the outputs read
    int stride;             //!< of both axes
    int outH, outW;         //!< output plane
    int taps;               //!< kh * kw
    const int* tapOffsets;  //!< per tap, from the first padded row of an output row
};

/** Output rows oy .. oy + kRows - 1 of one plane. The kRows rows share each weight broadcast and
keep 2 * kRows independent accumulators in flight: with one row the taps of an output vector form
one chain of dependent multiply-adds, which waits on the multiply-add latency (4 cycles on Zen 3
and recent Intel cores) instead of using both multiply-add units. */
template <class Lanes, int kRows>
void convolveRows(const float* padded, const PaddedPlaneLayout& layout, const float* weights,
                  float bias, float lo, float hi, int oy, float* dst)
{
    const int taps = layout.taps, outW = layout.outW;
    const int* offsets = layout.tapOffsets;
    const float* rows[kRows];
    float* out[kRows];
    for (int r = 0; r < kRows; ++r) {
        rows[r] = padded + size_t(oy + r) * size_t(layout.stride) * size_t(layout.rowStride);
        out[r] = dst + size_t(oy + r) * size_t(outW);
    }
    int ox = 0;
    if constexpr (Lanes::kLanes > 0) {
        constexpr int lanes = Lanes::kLanes;
        using V = typename Lanes::V;
        const V vBias = Lanes::broadcast(bias), vLo = Lanes::broadcast(lo),
                vHi = Lanes::broadcast(hi);
        for (; ox + 2 * lanes <= outW; ox += 2 * lanes) {
            V acc[kRows][2];
            for (int r = 0; r < kRows; ++r)
                acc[r][0] = acc[r][1] = vBias;
            for (int t = 0; t < taps; ++t) {
                const V w = Lanes::broadcast(weights[t]);
                for (int r = 0; r < kRows; ++r) {
                    const float* p = rows[r] + offsets[t] + ox;
                    acc[r][0] = Lanes::fma(Lanes::load(p), w, acc[r][0]);
                    acc[r][1] = Lanes::fma(Lanes::load(p + lanes), w, acc[r][1]);
                }
            }
            for (int r = 0; r < kRows; ++r) {
                Lanes::store(out[r] + ox, Lanes::clamp(acc[r][0], vLo, vHi));
                Lanes::store(out[r] + ox + lanes, Lanes::clamp(acc[r][1], vLo, vHi));
            }
        }
        for (; ox + lanes <= outW; ox += lanes) {
            V acc[kRows];
            for (int r = 0; r < kRows; ++r)
                acc[r] = vBias;
            for (int t = 0; t < taps; ++t) {
                const V w = Lanes::broadcast(weights[t]);
                for (int r = 0; r < kRows; ++r)
                    acc[r] = Lanes::fma(Lanes::load(rows[r] + offsets[t] + ox), w, acc[r]);
            }
            for (int r = 0; r < kRows; ++r)
                Lanes::store(out[r] + ox, Lanes::clamp(acc[r], vLo, vHi));
        }
    }
    for (; ox < outW; ++ox)
        for (int r = 0; r < kRows; ++r) {
            float acc = bias;
            for (int t = 0; t < taps; ++t)
                acc += rows[r][offsets[t] + ox] * weights[t];
            out[r][ox] = acc < lo ? lo : acc > hi ? hi : acc;
        }
}

/** Output row oy of one plane for a kernel of kTaps taps (a compile-time count, so the loop over
taps unrolls): the weights are broadcast once per row into registers and every tap has its own row
pointer, so each multiply-add needs one load. The generic loop above reloads and broadcasts the
weight of every tap for every vector pair: three loads per two multiply-adds, which bounds a
single row on the load ports at two thirds of the multiply-add rate. kTaps = 9 (3x3) holds
9 weights, 2 accumulators and the clamp bounds in the 16 vector registers; 5x5 would not fit. */
template <class Lanes, int kTaps>
void convolveRowHeldWeights(const float* padded, const PaddedPlaneLayout& layout,
                            const float* weights, float bias, float lo, float hi, int oy,
                            float* dst)
{
    const int outW = layout.outW;
    const float* row = padded + size_t(oy) * size_t(layout.stride) * size_t(layout.rowStride);
    float* out = dst + size_t(oy) * size_t(outW);
    const float* tap[kTaps];
    for (int t = 0; t < kTaps; ++t)
        tap[t] = row + layout.tapOffsets[t];
    int ox = 0;
    if constexpr (Lanes::kLanes > 0) {
        constexpr int lanes = Lanes::kLanes;
        using V = typename Lanes::V;
        V w[kTaps];
        for (int t = 0; t < kTaps; ++t)
            w[t] = Lanes::broadcast(weights[t]);
        const V vBias = Lanes::broadcast(bias), vLo = Lanes::broadcast(lo),
                vHi = Lanes::broadcast(hi);
        for (; ox + 2 * lanes <= outW; ox += 2 * lanes) {
            V acc0 = vBias, acc1 = vBias;
            for (int t = 0; t < kTaps; ++t) {
                acc0 = Lanes::fma(Lanes::load(tap[t] + ox), w[t], acc0);
                acc1 = Lanes::fma(Lanes::load(tap[t] + ox + lanes), w[t], acc1);
            }
            Lanes::store(out + ox, Lanes::clamp(acc0, vLo, vHi));
            Lanes::store(out + ox + lanes, Lanes::clamp(acc1, vLo, vHi));
        }
        for (; ox + lanes <= outW; ox += lanes) {
            V acc = vBias;
            for (int t = 0; t < kTaps; ++t)
                acc = Lanes::fma(Lanes::load(tap[t] + ox), w[t], acc);
            Lanes::store(out + ox, Lanes::clamp(acc, vLo, vHi));
        }
    }
    for (; ox < outW; ++ox) {
        float acc = bias;
        for (int t = 0; t < kTaps; ++t)
            acc += tap[t][ox] * weights[t];
        out[ox] = acc < lo ? lo : acc > hi ? hi : acc;
    }
}

/** One output plane from its padded input: bias + sum over taps of weight * input, clamped to
[lo, hi]. Lanes provides V, kLanes (0: no vector loop), load, store, broadcast, fma(a, b, c) =
a * b + c, and clamp. Every output value is the same sequence of multiply-adds whichever group of
rows computes it, so an image's values do not depend on its position in the batch or on the
plane's height. Only intrinsics and arithmetic inside: this body is compiled with different
instruction sets in different files, so it calls no shared inline functions. */
template <class Lanes>
void convolvePlane(const float* padded, const PaddedPlaneLayout& layout, const float* weights,
                   float bias, float lo, float hi, float* dst)
{
    // Grouping rows pays where one row's chains are long (5x5 kernels: 25 taps) or few (planes of
    // at most two vector pairs per row). For 3x3 kernels on wider planes the core already overlaps
    // the short chains of successive vectors of one row, and single rows measured faster.
    constexpr int kRowGroup = 4;
    const bool groupRows =
        layout.taps > 9 || layout.outW <= 4 * (Lanes::kLanes > 0 ? Lanes::kLanes : 1);
    int oy = 0;
    for (; groupRows && oy + kRowGroup <= layout.outH; oy += kRowGroup)
        convolveRows<Lanes, kRowGroup>(padded, layout, weights, bias, lo, hi, oy, dst);
    if (layout.taps == 9)
        for (; oy < layout.outH; ++oy)
            convolveRowHeldWeights<Lanes, 9>(padded, layout, weights, bias, lo, hi, oy, dst);
    for (; oy < layout.outH; ++oy)
        convolveRows<Lanes, 1>(padded, layout, weights, bias, lo, hi, oy, dst);
}

#ifdef ANOMALY_HAVE_AVX2_KERNEL
/** convolvePlane on AVX2 + FMA (avx2_kernels.cpp); call only where the CPU has both. */
void convolvePlaneAvx2(const float* padded, const PaddedPlaneLayout& layout, const float* weights,
                       float bias, float lo, float hi, float* dst);
#endif

}  // namespace depthwise
}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_DEPTHWISE_CONV_KERNEL_HPP
