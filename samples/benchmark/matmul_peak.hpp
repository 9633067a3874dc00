// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// This machine's measured single-precision matrix-multiply rate: the reference for "fraction of
// peak".
#ifndef ANOMALY_BENCHMARK_MATMUL_PEAK_HPP
#define ANOMALY_BENCHMARK_MATMUL_PEAK_HPP

namespace anomaly_benchmark {

/** Median GFLOP/s of cv::gemm on 1024x1024 float matrices (2 * 1024^3 FLOPs per call). OpenCV
hands this to its LAPACK/BLAS (OpenBLAS on Debian), whose thread count is set through
openblas_set_num_threads when the loaded BLAS has it; blasThreadsSet tells whether it had. */
double cvGemmGflops(int threads, int repeats, bool& blasThreadsSet);

/** Median GFLOP/s of a cv::dnn 1x1 Convolution 1024 -> 1024 channels on a 32x32 map (the same
2 * 1024^3 FLOPs), i.e. the GEMM kernel OpenCV DNN itself runs, with cv::setNumThreads(threads). */
double dnnConvGemmGflops(int threads, int repeats);

}  // namespace anomaly_benchmark

#endif  // ANOMALY_BENCHMARK_MATMUL_PEAK_HPP
