// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// exp() on vectors of any width: OpenCV 4.6 has a vector exp only in its scalar emulation, and its
// own Exp/TanH layers call std::exp/std::tanh one value at a time.
#ifndef OPENCV_ANOMALY_SIMD_EXP_HPP
#define OPENCV_ANOMALY_SIMD_EXP_HPP

namespace cv {
namespace anomaly {

/** e^x for every lane, relative error below 2e-7 (Cephes expf: range reduction by ln 2 in two
parts, a degree-5 polynomial, the power of two built in the exponent bits). Inputs are clamped to
[-87.3, 88.3], where the result stays a normal float. Lanes provides V, broadcast, min, max, add,
mul, fma(a, b, c) = a * b + c, roundToInt, toFloat and powerOfTwo (2^n from integer lanes n).
Only Lanes calls and arithmetic inside: it is instantiated in files compiled for different
instruction sets. */
template <class Lanes>
inline typename Lanes::V expApprox(const typename Lanes::V& xIn)
{
    using V = typename Lanes::V;
    const V x0 = Lanes::min(Lanes::max(xIn, Lanes::broadcast(-87.3f)), Lanes::broadcast(88.3f));
    const auto n = Lanes::roundToInt(Lanes::mul(x0, Lanes::broadcast(1.44269504088896341f)));
    const V fn = Lanes::toFloat(n);
    // x - n ln2, with ln2 split so that n * 0.693359375 is exact.
    V x = Lanes::fma(fn, Lanes::broadcast(-0.693359375f), x0);
    x = Lanes::fma(fn, Lanes::broadcast(2.12194440e-4f), x);
    V p = Lanes::broadcast(1.9875691500e-4f);
    p = Lanes::fma(p, x, Lanes::broadcast(1.3981999507e-3f));
    p = Lanes::fma(p, x, Lanes::broadcast(8.3334519073e-3f));
    p = Lanes::fma(p, x, Lanes::broadcast(4.1665795894e-2f));
    p = Lanes::fma(p, x, Lanes::broadcast(1.6666665459e-1f));
    p = Lanes::fma(p, x, Lanes::broadcast(5.0000001201e-1f));
    const V y = Lanes::fma(p, Lanes::mul(x, x), Lanes::add(x, Lanes::broadcast(1.f)));
    return Lanes::mul(y, Lanes::powerOfTwo(n));
}

/** x = 1 / (1 + e^-x) in place over the whole vectors of a row of `length` values; returns how
many values it wrote (0 where the build has no vectors), the rest are the caller's. The relative
error stays within a few float roundings of expApprox's: where e^-x overflows the clamped exp
gives 1e-38 instead of 0, where it underflows the result is 1. */
template <class Lanes>
int logisticVectors(float* x, int length)
{
    int i = 0;
    if constexpr (Lanes::kLanes > 0) {
        using V = typename Lanes::V;
        constexpr int lanes = Lanes::kLanes;
        const V zero = Lanes::broadcast(0.f), one = Lanes::broadcast(1.f);
        for (; i + lanes <= length; i += lanes) {
            const V e = expApprox<Lanes>(Lanes::sub(zero, Lanes::load(x + i)));
            Lanes::store(x + i, Lanes::div(one, Lanes::add(one, e)));
        }
    }
    return i;
}

#ifdef ANOMALY_HAVE_AVX2_KERNEL
/** logisticVectors on AVX2 + FMA (avx2_kernels.cpp); call only where the CPU has both. */
int logisticVectorsAvx2(float* x, int length);
#endif

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_SIMD_EXP_HPP
