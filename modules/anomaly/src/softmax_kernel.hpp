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

/** Softmax down each of the `width` columns of a rows x width block (row stride `width`), in
place, after adding mask[r * maskStride + j] to element (r, j) where mask is not null: attention
weights of `width` queries over `rows` keys, stored key-major so that the vectors run across
queries and no reduction crosses lanes. scratch: 2 * width floats. Every exp by the vector
approximation (columns past the last whole vector one lane at a time), as in row(). Returns false,
writing nothing, where the build has no vectors. */
template <class Lanes>
bool columns(float* block, int rows, int width, const float* mask, size_t maskStride,
             float* scratch)
{
    if constexpr (Lanes::kLanes > 0) {
        using V = typename Lanes::V;
        constexpr int lanes = Lanes::kLanes;
        const int vectorWidth = width / lanes * lanes;
        float* maxValue = scratch;
        float* sum = scratch + width;
        float spill[lanes];
        for (int j = 0; j < width; ++j) {
            maxValue[j] = -3.402823466e+38f;  // -FLT_MAX: every score is above it
            sum[j] = 0.f;
        }
        for (int r = 0; r < rows; ++r) {
            float* row = block + size_t(r) * width;
            if (mask) {
                const float* m = mask + size_t(r) * maskStride;
                for (int j = 0; j < vectorWidth; j += lanes)
                    Lanes::store(row + j, Lanes::add(Lanes::load(row + j), Lanes::load(m + j)));
                for (int j = vectorWidth; j < width; ++j)
                    row[j] += m[j];
            }
            for (int j = 0; j < vectorWidth; j += lanes)
                Lanes::store(maxValue + j,
                             Lanes::max(Lanes::load(maxValue + j), Lanes::load(row + j)));
            for (int j = vectorWidth; j < width; ++j)
                maxValue[j] = row[j] > maxValue[j] ? row[j] : maxValue[j];
        }
        // exp(x - max) <= 1, so the sums cannot overflow.
        for (int r = 0; r < rows; ++r) {
            float* row = block + size_t(r) * width;
            for (int j = 0; j < vectorWidth; j += lanes) {
                const V e =
                    expApprox<Lanes>(Lanes::sub(Lanes::load(row + j), Lanes::load(maxValue + j)));
                Lanes::store(row + j, e);
                Lanes::store(sum + j, Lanes::add(Lanes::load(sum + j), e));
            }
            for (int j = vectorWidth; j < width; ++j) {
                Lanes::store(spill, expApprox<Lanes>(Lanes::broadcast(row[j] - maxValue[j])));
                row[j] = spill[0];
                sum[j] += spill[0];
            }
        }
        for (int j = 0; j < width; ++j)
            sum[j] = 1.f / sum[j];
        for (int r = 0; r < rows; ++r) {
            float* row = block + size_t(r) * width;
            for (int j = 0; j < vectorWidth; j += lanes)
                Lanes::store(row + j, Lanes::mul(Lanes::load(row + j), Lanes::load(sum + j)));
            for (int j = vectorWidth; j < width; ++j)
                row[j] *= sum[j];
        }
        return true;
    }
    return false;
}

#ifdef ANOMALY_HAVE_AVX2_KERNEL
/** row on AVX2 + FMA (avx2_kernels.cpp); call only where the CPU has both. */
bool rowAvx2(const float* src, int length, float* dst);
/** columns on AVX2 + FMA (avx2_kernels.cpp); call only where the CPU has both. */
bool columnsAvx2(float* block, int rows, int width, const float* mask, size_t maskStride,
                 float* scratch);
#endif

}  // namespace softmax
}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_SOFTMAX_KERNEL_HPP
