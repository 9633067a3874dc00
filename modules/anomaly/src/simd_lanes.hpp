// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// What the convolution kernels (depthwise_conv_kernel.hpp, pointwise_conv_kernel.hpp) are
// instantiated on in the baseline build, and the run-time choice of their AVX2 copies.
#ifndef OPENCV_ANOMALY_SIMD_LANES_HPP
#define OPENCV_ANOMALY_SIMD_LANES_HPP

#include <opencv2/core.hpp>
#include <opencv2/core/hal/intrin.hpp>

namespace cv {
namespace anomaly {

#if CV_SIMD
/** The build's baseline vector width through OpenCV's universal intrinsics. */
struct UniversalLanes
{
    using V = v_float32;
    using VI = v_int32;
    static constexpr int kLanes = v_float32::nlanes;
    static V load(const float* p) { return vx_load(p); }
    static void store(float* p, const V& v) { v_store(p, v); }
    static V broadcast(float x) { return vx_setall_f32(x); }
    static V add(const V& a, const V& b) { return a + b; }
    static V sub(const V& a, const V& b) { return a - b; }
    static V mul(const V& a, const V& b) { return a * b; }
    static V div(const V& a, const V& b) { return a / b; }
    static V min(const V& a, const V& b) { return v_min(a, b); }
    static V max(const V& a, const V& b) { return v_max(a, b); }
    static V fma(const V& a, const V& b, const V& c) { return v_fma(a, b, c); }
    static V clamp(const V& x, const V& lo, const V& hi) { return v_min(v_max(x, lo), hi); }
    static VI roundToInt(const V& x) { return v_round(x); }
    static V toFloat(const VI& n) { return v_cvt_f32(n); }
    /** 2^n for n in [-126, 127]: n + 127 in the exponent bits. */
    static V powerOfTwo(const VI& n)
    {
        return v_reinterpret_as_f32(v_shl<23>(n + vx_setall_s32(127)));
    }
};
#else
struct UniversalLanes  // no SIMD on this platform: the kernels' scalar loops only
{
    static constexpr int kLanes = 0;
};
#endif

/** Whether the AVX2 + FMA kernels (avx2_kernels.cpp) are built in and may run. Asked on every
forward: cv::setUseOptimized(false) and OPENCV_CPU_DISABLE turn them off as they do OpenCV's own
dispatched code. */
inline bool avx2KernelsUsable()
{
#ifdef ANOMALY_HAVE_AVX2_KERNEL
    return checkHardwareSupport(CV_CPU_AVX2) && checkHardwareSupport(CV_CPU_FMA3);
#else
    return false;
#endif
}

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_SIMD_LANES_HPP
