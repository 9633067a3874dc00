// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The vector loop of the SoftClampAffine layer, written once for any vector width:
// custom_layers.cpp instantiates it on OpenCV's universal intrinsics (the build's baseline),
// avx2_kernels.cpp on AVX2 + FMA, chosen at run time.
#ifndef OPENCV_ANOMALY_SOFT_CLAMP_AFFINE_KERNEL_HPP
#define OPENCV_ANOMALY_SOFT_CLAMP_AFFINE_KERNEL_HPP

#include "simd_exp.hpp"

namespace cv {
namespace anomaly {
namespace softclamp {

/** out[i] = x2[i] * exp(clamp * tanh(logScale[i])) + shift[i] for the whole vectors of a row of
`length` values; returns how many values it wrote (the caller finishes the rest with scalar code:
this body is compiled with different instruction sets in different files, so it calls no shared
inline functions, std::exp included). */
template <class Lanes>
int affineVectors(const float* x2, const float* logScale, const float* shift, float clamp,
                  int length, float* out)
{
    int i = 0;
    if constexpr (Lanes::kLanes > 0) {
        using V = typename Lanes::V;
        constexpr int lanes = Lanes::kLanes;
        const V one = Lanes::broadcast(1.f), two = Lanes::broadcast(2.f);
        const V vClamp = Lanes::broadcast(clamp);
        for (; i + lanes <= length; i += lanes) {
            // tanh(u) = 1 - 2 / (e^(2u) + 1): exact at both ends (e^(2u) -> 0 or huge).
            const V u = Lanes::load(logScale + i);
            const V e2u = expApprox<Lanes>(Lanes::mul(u, two));
            const V tanhU = Lanes::sub(one, Lanes::div(two, Lanes::add(e2u, one)));
            const V scale = expApprox<Lanes>(Lanes::mul(vClamp, tanhU));
            Lanes::store(out + i, Lanes::fma(Lanes::load(x2 + i), scale, Lanes::load(shift + i)));
        }
    }
    return i;
}

#ifdef ANOMALY_HAVE_AVX2_KERNEL
/** affineVectors on AVX2 + FMA (avx2_kernels.cpp); call only where the CPU has both. */
int affineVectorsAvx2(const float* x2, const float* logScale, const float* shift, float clamp,
                      int length, float* out);
#endif

}  // namespace softclamp
}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_SOFT_CLAMP_AFFINE_KERNEL_HPP
