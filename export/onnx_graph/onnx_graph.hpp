// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Building, merging and atomically saving ONNX graphs that follow doc/model-format.md.
#ifndef ANOMALY_EXPORT_ONNX_GRAPH_HPP
#define ANOMALY_EXPORT_ONNX_GRAPH_HPP

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace anomaly_export {

/** Opset versions every file we write declares (doc/model-format.md section 1). */
constexpr int64_t kAiOnnxOpset = 13;
constexpr const char* kCustomDomain = "org.opencv.anomaly";
constexpr int64_t kCustomDomainVersion = 1;

/** The custom convolution ops (doc/model-format.md section 6): OpenCV 4.6 runs depthwise
convolutions at about 1 GFLOP/s except 3x3 kernels on wide planes, 1x1 convolutions at a third of
what a core multiplies, and convolutions of few input channels (a stem) slower still, behind a
Padding layer where the padding is asymmetric. DepthwiseConv: X [N,C,H,W], W [C,1,kh,kw], B [C];
PointwiseConv: X [N,I,H,W], W [O,I,1,1], B [O]; DenseConv: X [N,C,H,W], W [O,C,kh,kw], B [O]. */
constexpr const char* kDepthwiseConvOp = "DepthwiseConv";
constexpr const char* kPointwiseConvOp = "PointwiseConv";
constexpr const char* kDenseConvOp = "DenseConv";
/** A normalizing-flow coupling block as one op (doc/model-format.md section 6). */
constexpr const char* kAffineCouplingOp = "AffineCoupling";
/** A MobileNetV2-style inverted-residual block as one op (doc/model-format.md section 6): X, then
optionally the 1x1 expansion's weight and bias, the depthwise weight and bias, the 1x1
projection's weight and bias; attributes stride, padding (as DepthwiseConv) and residual. */
constexpr const char* kInvertedResidualOp = "InvertedResidual";

/** Node attribute constructors. */
onnx::AttributeProto attrInt(const std::string& name, int64_t value);
onnx::AttributeProto attrFloat(const std::string& name, float value);
onnx::AttributeProto attrInts(const std::string& name, const std::vector<int64_t>& values);
onnx::AttributeProto attrFloats(const std::string& name, const std::vector<float>& values);
onnx::AttributeProto attrString(const std::string& name, const std::string& value);

/** The node a convolution is written as. */
struct ConvolutionNode
{
    std::string opType;
    std::string domain;  //!< "" for ai.onnx Conv
    std::vector<onnx::AttributeProto> attributes;
    bool needsBias;  //!< the custom ops always read a bias: write zeros when there is none
};

/** ONNX Conv with those attributes (stride and dilation the same on both axes). */
ConvolutionNode onnxConvolutionNode(int64_t kernelH, int64_t kernelW, int64_t stride,
                                    const std::vector<int64_t>& pads, int64_t group,
                                    int64_t dilation);

/** How the writers express a convolution of `inChannels` into `outChannels` in `group` groups
with a kernelH x kernelW kernel, one stride for both axes and zero padding {top, left, bottom,
right}: DepthwiseConv for one input channel per group and output channel (a single channel too,
unless the kernel is 1x1), PointwiseConv for a 1x1 kernel without stride, padding or groups,
DenseConv for any other convolution of one group, ONNX Conv otherwise (groups of several
channels) and for every dilated convolution (dilation > 1, which the custom ops do not take;
OpenCV 4.6's own convolution computes it at any batch size). */
ConvolutionNode convolutionNode(int64_t inChannels, int64_t outChannels, int64_t group,
                                int64_t kernelH, int64_t kernelW, int64_t stride,
                                const std::vector<int64_t>& pads, int64_t dilation = 1);

/** Builds one ONNX model: inputs, initializers, nodes, outputs and metadata.
Names passed in are used as given; uniqueName() makes fresh ones. */
class OnnxGraphBuilder
{
public:
    explicit OnnxGraphBuilder(const std::string& graphName);
    /** Starts from an existing model (e.g. a backbone), keeping its graph, opsets and metadata. */
    explicit OnnxGraphBuilder(onnx::ModelProto model);

    /** A name not yet used for a value or node in this graph, starting with prefix. */
    std::string uniqueName(const std::string& prefix);

    /** Graph input; a dimension < 0 is written symbolic ("N"). */
    void addInput(const std::string& name, const std::vector<int64_t>& shape);
    /** Graph output with its full shape (OpenCV 4.6 needs it); dimension < 0 is symbolic. */
    void addOutput(const std::string& name, const std::vector<int64_t>& shape);
    /** Removes a graph output by name (the value stays computed); false when absent. */
    bool removeOutput(const std::string& name);

    /** FP32 initializer from row-major data; returns its name. */
    std::string addInitializer(const std::string& name, const std::vector<int64_t>& shape,
                               const float* data);
    /** INT64 initializer (shapes, indices); returns its name. */
    std::string addInt64Initializer(const std::string& name, const std::vector<int64_t>& values);

    /** Adds a node with one output named `output`; returns `output`. domain "" is ai.onnx. */
    std::string addNode(const std::string& opType, const std::vector<std::string>& inputs,
                        const std::string& output,
                        const std::vector<onnx::AttributeProto>& attributes = {},
                        const std::string& domain = "");
    /** Adds a node with several outputs. */
    void addNode(const std::string& opType, const std::vector<std::string>& inputs,
                 const std::vector<std::string>& outputs,
                 const std::vector<onnx::AttributeProto>& attributes = {},
                 const std::string& domain = "");

    /** Sets (or replaces) a metadata_props entry. */
    void setMetadata(const std::string& key, const std::string& value);
    /** Value of a metadata_props entry, or empty. */
    std::string metadata(const std::string& key) const;

    onnx::ModelProto& model() { return model_; }
    const onnx::ModelProto& model() const { return model_; }

    /** Runs onnx::checker::check_model and writes path through writeFileAtomically.
    Throws std::runtime_error (naming the path) on any failure; no partial file is left. */
    void save(const std::string& path) const;

private:
    void ensureOpset(const std::string& domain, int64_t version);
    void noteName(const std::string& name);

    onnx::ModelProto model_;
    std::vector<std::string> usedNames_;
    int64_t nameCounter_ = 0;
};

/** Reads an ONNX model file; throws std::runtime_error naming the path on failure. */
onnx::ModelProto loadOnnxModel(const std::string& path);

/** Serialised bytes of a model (for handing to cv::dnn::readNetFromONNX in memory). */
std::vector<unsigned char> serializeOnnxModel(const onnx::ModelProto& model);

}  // namespace anomaly_export

#endif  // ANOMALY_EXPORT_ONNX_GRAPH_HPP
