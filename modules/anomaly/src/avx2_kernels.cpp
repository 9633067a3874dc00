// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The vector kernels at 256-bit AVX2 + FMA width. The build compiles this file alone with
// -mavx2 -mfma (x86-64, GCC or Clang) and defines ANOMALY_HAVE_AVX2_KERNEL; elsewhere it is
// empty. OpenCV's universal intrinsics cannot be widened per file outside OpenCV's own build, so
// the lanes here are raw intrinsics; the loops are the shared templates.
#ifdef ANOMALY_HAVE_AVX2_KERNEL

#include "depthwise_conv_kernel.hpp"
#include "pointwise_conv_kernel.hpp"
#include "soft_clamp_affine_kernel.hpp"
#include "softmax_kernel.hpp"

#include <immintrin.h>

namespace cv {
namespace anomaly {
namespace {

struct Avx2Lanes
{
    using V = __m256;
    using VI = __m256i;
    static constexpr int kLanes = 8;
    static V load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
    static V broadcast(float x) { return _mm256_set1_ps(x); }
    static V add(V a, V b) { return _mm256_add_ps(a, b); }
    static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    static V div(V a, V b) { return _mm256_div_ps(a, b); }
    static V min(V a, V b) { return _mm256_min_ps(a, b); }
    static V max(V a, V b) { return _mm256_max_ps(a, b); }
    static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    static V clamp(V x, V lo, V hi) { return _mm256_min_ps(_mm256_max_ps(x, lo), hi); }
    static VI roundToInt(V x) { return _mm256_cvtps_epi32(x); }  // to nearest, as v_round
    static V toFloat(VI n) { return _mm256_cvtepi32_ps(n); }
    static V powerOfTwo(VI n)
    {
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
    }
};

}  // namespace

namespace depthwise {

void convolvePlaneAvx2(const float* padded, const PaddedPlaneLayout& layout, const float* weights,
                       float bias, float lo, float hi, float* dst)
{
    convolvePlane<Avx2Lanes>(padded, layout, weights, bias, lo, hi, dst);
}

}  // namespace depthwise

namespace pointwise {

static_assert(kAvx2TileColumns == tileColumns(Avx2Lanes::kLanes), "AVX2 tile width");

void multiplyTileAvx2(int depth, const float* weights, const float* input, const float* bias,
                      float lo, float hi, float* dst, size_t dstStride, int rows)
{
    multiplyTile<Avx2Lanes>(depth, weights, input, bias, lo, hi, dst, dstStride, rows);
}

}  // namespace pointwise

namespace softclamp {

int affineVectorsAvx2(const float* x2, const float* logScale, const float* shift, float clamp,
                      int length, float* out)
{
    return affineVectors<Avx2Lanes>(x2, logScale, shift, clamp, length, out);
}

}  // namespace softclamp

int logisticVectorsAvx2(float* x, int length)
{
    return logisticVectors<Avx2Lanes>(x, length);
}

namespace softmax {

bool rowAvx2(const float* src, int length, float* dst)
{
    return row<Avx2Lanes>(src, length, dst);
}

bool columnsAvx2(float* block, int rows, int width, const float* mask, size_t maskStride,
                 float* scratch)
{
    return columns<Avx2Lanes>(block, rows, width, mask, maskStride, scratch);
}

}  // namespace softmax
}  // namespace anomaly
}  // namespace cv

#endif  // ANOMALY_HAVE_AVX2_KERNEL
