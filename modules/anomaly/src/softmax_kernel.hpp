// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The row loop of the SoftmaxLastAxis layer, written once for any vector width: custom_layers.cpp
// instantiates it on OpenCV's universal intrinsics (the build's baseline), avx2_kernels.cpp on
// AVX2 + FMA, chosen at run time.
#ifndef OPENCV_ANOMALY_SOFTMAX_KERNEL_HPP
#define OPENCV_ANOMALY_SOFTMAX_KERNEL_HPP

#include "simd_exp.hpp"

namespace cv {
namespace anomaly {
namespace softmax {

/** dst = exp(src - max) / sum(exp(src - max)) over a row of `length` >= 1 values, every exp by the
vector approximation (the last values that fill no vector one lane at a time), so that a value
does not depend on where in a vector it falls. Returns false, writing nothing, where the build has
no vectors. Like the other kernels it calls no shared inline function (this body is compiled with
different instruction sets in different files). */
template <class Lanes>
bool row(const float* src, int length, float* dst)
{
    if constexpr (Lanes::kLanes > 0) {
        using V = typename Lanes::V;
        constexpr int lanes = Lanes::kLanes;
        float spill[lanes];
        int i = 0;
        float maxValue = src[0];
        if (length >= lanes) {
            V vMax = Lanes::load(src);
            for (i = lanes; i + lanes <= length; i += lanes)
                vMax = Lanes::max(vMax, Lanes::load(src + i));
            Lanes::store(spill, vMax);
            for (int l = 0; l < lanes; ++l)
                maxValue = spill[l] > maxValue ? spill[l] : maxValue;
        }
        for (; i < length; ++i)
            maxValue = src[i] > maxValue ? src[i] : maxValue;

        // exp(x - max) <= 1, so the sum cannot overflow.
        const V shift = Lanes::broadcast(maxValue);
        V vSum = Lanes::broadcast(0.f);
        for (i = 0; i + lanes <= length; i += lanes) {
            const V e = expApprox<Lanes>(Lanes::sub(Lanes::load(src + i), shift));
            Lanes::store(dst + i, e);
            vSum = Lanes::add(vSum, e);
        }
        Lanes::store(spill, vSum);
        float sum = 0.f;
        for (int l = 0; l < lanes; ++l)
            sum += spill[l];
        for (; i < length; ++i) {
            Lanes::store(spill, expApprox<Lanes>(Lanes::broadcast(src[i] - maxValue)));
            dst[i] = spill[0];
            sum += spill[0];
        }

        const float inverse = 1.f / sum;
        const V vInverse = Lanes::broadcast(inverse);
        for (i = 0; i + lanes <= length; i += lanes)
            Lanes::store(dst + i, Lanes::mul(Lanes::load(dst + i), vInverse));
        for (; i < length; ++i)
            dst[i] *= inverse;
        return true;
    }
    return false;
}

#ifdef ANOMALY_HAVE_AVX2_KERNEL
/** row on AVX2 + FMA (avx2_kernels.cpp); call only where the CPU has both. */
bool rowAvx2(const float* src, int length, float* dst);
#endif

}  // namespace softmax
}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_SOFTMAX_KERNEL_HPP
