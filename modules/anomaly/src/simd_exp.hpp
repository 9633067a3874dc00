// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// exp() on OpenCV's universal intrinsics: OpenCV 4.6 has a vector exp only in its scalar
// emulation, and its own Exp/TanH layers call std::exp/std::tanh one value at a time.
#ifndef OPENCV_ANOMALY_SIMD_EXP_HPP
#define OPENCV_ANOMALY_SIMD_EXP_HPP

#include <opencv2/core/hal/intrin.hpp>

namespace cv {
namespace anomaly {

#if CV_SIMD
/** e^x for every lane, relative error below 2e-7 (Cephes expf: range reduction by ln 2 in two
parts, a degree-5 polynomial, the power of two built in the exponent bits). Inputs are clamped to
[-87.3, 88.3], where the result stays a normal float. */
inline v_float32 v_exp_approx(const v_float32& xIn)
{
    const v_float32 x0 = v_min(v_max(xIn, vx_setall_f32(-87.3f)), vx_setall_f32(88.3f));
    const v_int32 n = v_round(x0 * vx_setall_f32(1.44269504088896341f));
    const v_float32 fn = v_cvt_f32(n);
    // x - n ln2, with ln2 split so that n * 0.693359375 is exact.
    v_float32 x = v_fma(fn, vx_setall_f32(-0.693359375f), x0);
    x = v_fma(fn, vx_setall_f32(2.12194440e-4f), x);
    v_float32 p = vx_setall_f32(1.9875691500e-4f);
    p = v_fma(p, x, vx_setall_f32(1.3981999507e-3f));
    p = v_fma(p, x, vx_setall_f32(8.3334519073e-3f));
    p = v_fma(p, x, vx_setall_f32(4.1665795894e-2f));
    p = v_fma(p, x, vx_setall_f32(1.6666665459e-1f));
    p = v_fma(p, x, vx_setall_f32(5.0000001201e-1f));
    const v_float32 y = v_fma(p, x * x, x + vx_setall_f32(1.f));
    const v_float32 twoToN = v_reinterpret_as_f32(v_shl<23>(n + vx_setall_s32(127)));
    return y * twoToN;
}
#endif

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_SIMD_EXP_HPP
