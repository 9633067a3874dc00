// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Rewrites a model file's custom ops (doc/model-format.md section 6) into standard ONNX ops so
// that other runtimes (ONNX Runtime, OpenVINO, TensorRT) can load the same graph.
#ifndef ANOMALY_EXPORT_STANDARD_OPS_HPP
#define ANOMALY_EXPORT_STANDARD_OPS_HPP

#include <onnx/onnx_pb.h>

#include <cstdint>

namespace anomaly_export {

/** ai.onnx opset of rewritten models: the first with LayerNormalization. */
constexpr int64_t kStandardOpset = 17;

/** Returns the model with every org.opencv.anomaly node replaced by ai.onnx opset-17 nodes:
- LayerNorm(X, gamma, beta) -> Transpose(NHWC) -> LayerNormalization(axis=-1, same epsilon)
  -> Transpose(NCHW), the last node producing the original output name;
- ChannelAffinePermute(X, scale, bias, perm) -> Gather(X, perm, axis=1) -> Mul(scale[perm])
  -> Add(bias[perm]), constants of shape [C,1,1];
- Relu6(X) -> Clip(X, min, max) with scalar float initializers 0 and 6 (shared by all Clips).
- SoftClampAffine(X2, A) -> Split(A) -> Tanh -> Mul(clamp) -> Exp -> Mul(X2) -> Add;
- DepthwiseConv(X, W, B) -> Conv(X, W, B) with group = C and the same stride and padding.
- PointwiseConv(X, W, B) -> Conv(X, W, B) with a 1x1 kernel.
- DenseConv(X, W, B) -> Conv(X, W, B) with group 1 and the same stride and padding.
- SoftmaxLastAxis(X) -> Softmax(X, axis=-1).
- Attention(Q, K, V[, M], heads) -> per input Reshape([0,0,-1]), Transpose, Reshape([0,0,heads,-1]),
  Transpose to [N, heads, T, d] (keys [N, heads, d, T]), MatMul, Add(M), Softmax(axis=-1),
  MatMul, Transpose, Reshape, Transpose and a Reshape to Shape(Q) under the node's name.
- AttentionPooling(L, V, heads) -> L and V to heads as Attention's K and V, Softmax(axis=-1),
  MatMul, Transpose, Reshape, Transpose and a Reshape([0,0,-1,1]) under the node's name.
- MeanSquaredDifference(A[, B], scale) -> [Sub(A, B)], Mul(d, d), ReduceMean(axes=[1], keepdims),
  and Mul(scale) where scale is not 1.
- PositionwiseLinear(X, W, B) -> Unsqueeze(X, axes [1]), Mul(W), ReduceSum(axes [2], keepdims 0),
  Add(B).
- BilinearUpsample(X, factor f) -> Resize(X, roi = empty, scales = [1, 1, f, f], mode linear,
  coordinate_transformation_mode half_pixel).
- AffineCoupling(X, DW, DB, PW, PB, scale, bias, perm) -> Split(X, [S, C-S]) -> the DepthwiseConv,
  LeakyRelu(slope), PointwiseConv, SoftClampAffine, Concat and ChannelAffinePermute nodes of its
  definition, each of ours rewritten as above.
- InvertedResidual(X, [EW, EB,] DW, DB, PW, PB) -> the PointwiseConv, Relu6, DepthwiseConv, Relu6,
  PointwiseConv (and Add of X) nodes of its definition, rewritten as above.
Every other node, every value name, the graph inputs and outputs and the metadata are kept; the
LayerNormalization, Gather or Clip node keeps the replaced node's name and the helper nodes extend
it
("<name>/to_nhwc"), so per-stage name prefixes survive. The custom opset import is dropped, ai.onnx
is raised to 17 (ops used by our files have the same semantics at 13 and 17) and ir_version to at
least 8. The result passes ONNX's strict shape inference (type checks on). Throws std::runtime_error
for a custom op of another kind or a malformed one. */
onnx::ModelProto toStandardOps(const onnx::ModelProto& model);

}  // namespace anomaly_export

#endif  // ANOMALY_EXPORT_STANDARD_OPS_HPP
