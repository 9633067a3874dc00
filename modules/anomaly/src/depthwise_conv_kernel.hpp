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

/** One output plane from its padded input: bias + sum over taps of weight * input, clamped to
[lo, hi]. Lanes provides V, kLanes (0: no vector loop), load, store, broadcast, fma(a, b, c) =
a * b + c, and clamp. Every plane runs the same instruction sequence, so an image's values do not
depend on its position in the batch. Only intrinsics and arithmetic inside: this body is compiled
with different instruction sets in different files, so it calls no shared inline functions. */
template <class Lanes>
void convolvePlane(const float* padded, const PaddedPlaneLayout& layout, const float* weights,
                   float bias, float lo, float hi, float* dst)
{
    const int taps = layout.taps, outW = layout.outW;
    const int* offsets = layout.tapOffsets;
    for (int oy = 0; oy < layout.outH; ++oy) {
        const float* rows = padded + size_t(oy) * size_t(layout.stride) * size_t(layout.rowStride);
        float* out = dst + size_t(oy) * size_t(outW);
        int ox = 0;
        if constexpr (Lanes::kLanes > 0) {
            constexpr int lanes = Lanes::kLanes;
            using V = typename Lanes::V;
            const V vBias = Lanes::broadcast(bias), vLo = Lanes::broadcast(lo),
                    vHi = Lanes::broadcast(hi);
            // Two vectors per pass share each weight broadcast.
            for (; ox + 2 * lanes <= outW; ox += 2 * lanes) {
                V acc0 = vBias, acc1 = vBias;
                for (int t = 0; t < taps; ++t) {
                    const float* p = rows + offsets[t] + ox;
                    const V w = Lanes::broadcast(weights[t]);
                    acc0 = Lanes::fma(Lanes::load(p), w, acc0);
                    acc1 = Lanes::fma(Lanes::load(p + lanes), w, acc1);
                }
                Lanes::store(out + ox, Lanes::clamp(acc0, vLo, vHi));
                Lanes::store(out + ox + lanes, Lanes::clamp(acc1, vLo, vHi));
            }
            for (; ox + lanes <= outW; ox += lanes) {
                V acc = vBias;
                for (int t = 0; t < taps; ++t)
                    acc = Lanes::fma(Lanes::load(rows + offsets[t] + ox),
                                     Lanes::broadcast(weights[t]), acc);
                Lanes::store(out + ox, Lanes::clamp(acc, vLo, vHi));
            }
        }
        for (; ox < outW; ++ox) {
            float acc = bias;
            for (int t = 0; t < taps; ++t)
                acc += rows[offsets[t] + ox] * weights[t];
            out[ox] = acc < lo ? lo : acc > hi ? hi : acc;
        }
    }
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
