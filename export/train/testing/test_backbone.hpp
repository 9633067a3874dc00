// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// A small random-weight backbone with the outputs and metadata of a real one, so tests do not
// depend on downloaded weights.
#ifndef ANOMALY_TRAIN_TESTING_TEST_BACKBONE_HPP
#define ANOMALY_TRAIN_TESTING_TEST_BACKBONE_HPP

#include <onnx/onnx_pb.h>

#include <array>
#include <cstdint>

namespace anomaly_train {

/** Conv(k4,s4)+ReLU -> feat_s4, Conv(k2,s2)+ReLU -> feat_s8, Conv(k2,s2)+ReLU -> feat_s16, input
`image` [N,3,size,size], backbone.* metadata (name "test_random"). */
onnx::ModelProto makeTestBackbone(int inputSize, const std::array<int64_t, 3>& channels,
                                  uint64_t seed);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_TESTING_TEST_BACKBONE_HPP
