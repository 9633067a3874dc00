// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Peer (a): the training tool's LibTorch head against the same head exported to ONNX and run by
// cv::dnn. LibTorch only has the head (the trainer runs the backbone through OpenCV DNN), so
// this compares head with head, with identical weights.
#ifndef ANOMALY_BENCHMARK_TORCH_HEAD_PEER_HPP
#define ANOMALY_BENCHMARK_TORCH_HEAD_PEER_HPP

#include "opencv_runs.hpp"
#include "report.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace anomaly_benchmark {

/** Builds the method's head (LibTorch default initialisation, seed 0: the timing does not depend
on weight values) for backbone features of `channels` at strides 4, 8, 16 of inputSize, exports
it alone to ONNX and times both on the same random features. flowInput and flowScales: what
lgnf's flows see and at which strides (anomaly_train --flow-input, --flow-scales), ignored by the
other methods. */
std::vector<HeadPeerRow> benchmarkTorchHead(const std::string& method, const std::string& modelSize,
                                            const std::string& flowInput,
                                            const std::string& flowScales,
                                            const std::array<int64_t, 3>& channels,
                                            cv::Size inputSize, const std::vector<int>& threads,
                                            const std::vector<int>& batches, int warmup,
                                            int repeats, const IterationDone& done);

/** Median GFLOP/s of torch::mm on 1024x1024 float matrices with torch::set_num_threads. */
double torchMatmulGflops(int threads, int repeats);

}  // namespace anomaly_benchmark

#endif  // ANOMALY_BENCHMARK_TORCH_HEAD_PEER_HPP
