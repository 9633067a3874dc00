// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "onnx_graph_check.hpp"

#include "precomp.hpp"
#include "protobuf_wire.hpp"

#include <algorithm>
#include <set>

namespace cv {
namespace anomaly {

namespace {

// Field numbers from onnx.proto.
namespace model_field {
constexpr uint32_t kGraph = 7;
}
namespace graph_field {
constexpr uint32_t kNode = 1, kInitializer = 5, kInput = 11, kOutput = 12, kSparseInitializer = 15;
}
namespace node_field {
constexpr uint32_t kInput = 1, kOutput = 2, kOpType = 4, kAttribute = 5;
}
namespace attribute_field {
constexpr uint32_t kTensor = 5, kGraph = 6, kTensors = 10, kGraphs = 11;
}
namespace tensor_field {
constexpr uint32_t kDims = 1, kDataType = 2, kFloatData = 4, kInt32Data = 5, kStringData = 6,
                   kInt64Data = 7, kName = 8, kRawData = 9, kDoubleData = 10, kExternalData = 13,
                   kDataLocation = 14;
}
namespace value_field {
constexpr uint32_t kName = 1, kType = 2;
}

// Largest tensor we accept: 2^31 elements is beyond anything a model of ours holds and keeps
// OpenCV's int-sized Mat dimensions safe.
constexpr int64_t kMaxElements = int64_t(1) << 31;
constexpr int64_t kMaxDim = int64_t(1) << 24;

[[noreturn]] void fail(const std::string& what)
{
    CV_Error(Error::StsParseError, "ONNX model: " + what);
}

// Element size in bytes of the ONNX data types OpenCV 4.6 reads; 0 for any other type.
size_t elementSize(int64_t dataType)
{
    switch (dataType) {
        case 1:  // FLOAT
        case 6:  // INT32
            return 4;
        case 2:  // UINT8
        case 3:  // INT8
        case 9:  // BOOL
            return 1;
        case 7:   // INT64
        case 11:  // DOUBLE
            return 8;
        default:
            return 0;
    }
}

// Counts the values of a repeated scalar field, packed (length-delimited) or not.
size_t countPacked(WireReader& r, uint32_t wire, size_t fixedSize)
{
    if (wire != kLengthDelimited) {
        r.skip(wire);
        return 1;
    }
    WireReader packed = r.sub();
    if (fixedSize > 0) {
        if (packed.size() % fixedSize != 0)
            fail("packed tensor data has a partial element");
        return packed.size() / fixedSize;
    }
    size_t n = 0;
    while (!packed.atEnd()) {
        packed.varint();
        ++n;
    }
    return n;
}

std::vector<int64_t> readDims(WireReader& r, uint32_t wire)
{
    std::vector<int64_t> dims;
    if (wire == kVarint) {
        dims.push_back(int64_t(r.varint()));
    } else if (wire == kLengthDelimited) {
        WireReader packed = r.sub();
        while (!packed.atEnd())
            dims.push_back(int64_t(packed.varint()));
    } else {
        fail("tensor dims have the wrong wire type");
    }
    return dims;
}

/** Checks a tensor's dims, type and data size; returns whether it holds no values. */
bool checkTensor(WireReader r, const char* role)
{
    std::vector<int64_t> dims;
    int64_t dataType = 0;
    size_t rawBytes = 0, typedCount = 0;
    bool hasRaw = false;
    std::string name;
    while (!r.atEnd()) {
        const auto [field, wire] = r.tag();
        switch (field) {
            case tensor_field::kDims: {
                const auto more = readDims(r, wire);
                dims.insert(dims.end(), more.begin(), more.end());
                break;
            }
            case tensor_field::kDataType:
                if (wire != kVarint)
                    fail("tensor data_type has the wrong wire type");
                dataType = int64_t(r.varint());
                break;
            case tensor_field::kName:
                if (wire != kLengthDelimited)
                    fail("tensor name has the wrong wire type");
                name = r.string();
                break;
            case tensor_field::kRawData:
                if (wire != kLengthDelimited)
                    fail("tensor raw_data has the wrong wire type");
                rawBytes += r.sub().size();
                hasRaw = true;
                break;
            case tensor_field::kFloatData:
            case tensor_field::kInt32Data:
                typedCount += countPacked(r, wire, field == tensor_field::kFloatData ? 4 : 0);
                break;
            case tensor_field::kInt64Data:
                typedCount += countPacked(r, wire, 0);
                break;
            case tensor_field::kDoubleData:
                typedCount += countPacked(r, wire, 8);
                break;
            case tensor_field::kStringData:
            case tensor_field::kExternalData:
            case tensor_field::kDataLocation:
                fail(std::string(role) + " '" + name +
                     "' uses string or external data, which the runtime does not read");
            default:
                r.skip(wire);
        }
    }
    int64_t elements = 1;
    for (int64_t d : dims) {
        if (d < 0 || d > kMaxDim)
            fail(cv::format("%s '%s' has an invalid dimension %lld", role, name.c_str(),
                            (long long)d));
        elements *= d;
        if (elements > kMaxElements)
            fail(std::string(role) + " '" + name + "' is too large");
    }
    const size_t elemSize = elementSize(dataType);
    if (elemSize == 0)
        fail(cv::format("%s '%s' has unsupported data type %lld", role, name.c_str(),
                        (long long)dataType));
    const size_t have = hasRaw ? rawBytes / elemSize : typedCount;
    if ((hasRaw && rawBytes % elemSize != 0) || int64_t(have) != elements)
        fail(cv::format("%s '%s' holds %zu values but its dims say %lld", role, name.c_str(), have,
                        (long long)elements));
    return elements == 0;
}

// A dimension of a graph input or output: its value, or kSymbolicDim for a dim_param name.
constexpr int64_t kSymbolicDim = -1;

// TensorShapeProto: every dim_value must be a sane size (dim_param names are fine). Returns the
// dims.
std::vector<int64_t> checkShape(WireReader shape, const std::string& name, const char* role)
{
    std::vector<int64_t> dims;
    while (!shape.atEnd()) {
        const auto [field, wire] = shape.tag();
        if (field != 1 || wire != kLengthDelimited) {  // TensorShapeProto.dim
            shape.skip(wire);
            continue;
        }
        WireReader dim = shape.sub();
        int64_t value = kSymbolicDim;
        while (!dim.atEnd()) {
            const auto d = dim.tag();
            if (d.field != 1 || d.wire != kVarint) {  // Dimension.dim_value
                dim.skip(d.wire);
                continue;
            }
            value = int64_t(dim.varint());
            if (value < 0 || value > kMaxDim)
                fail(std::string(role) + " '" + name + "' has an invalid dimension");
        }
        dims.push_back(value);
    }
    return dims;
}

// TypeProto: true when it is a tensor type carrying a shape (checked on the way and stored in
// dims).
bool readTensorShape(WireReader type, const std::string& name, const char* role,
                     std::vector<int64_t>& dims)
{
    bool found = false;
    while (!type.atEnd()) {
        const auto [field, wire] = type.tag();
        if (field != 1 || wire != kLengthDelimited) {  // TypeProto.tensor_type
            type.skip(wire);
            continue;
        }
        WireReader tensor = type.sub();
        while (!tensor.atEnd()) {
            const auto t = tensor.tag();
            if (t.field == 2 && t.wire == kLengthDelimited) {  // Tensor.shape
                dims = checkShape(tensor.sub(), name, role);
                found = true;
            } else {
                tensor.skip(t.wire);
            }
        }
    }
    return found;
}

struct ValueInfo
{
    std::string name;
    std::vector<int64_t> dims;
};

// Requires a named value with a tensor type and a full shape (OpenCV 4.6 asserts on shapeless graph
// inputs and outputs).
ValueInfo checkValueInfo(WireReader r, const char* role)
{
    std::string name;
    WireReader type(nullptr, nullptr);
    while (!r.atEnd()) {
        const auto [field, wire] = r.tag();
        if (field == value_field::kName && wire == kLengthDelimited)
            name = r.string();
        else if (field == value_field::kType && wire == kLengthDelimited)
            type = r.sub();
        else
            r.skip(wire);
    }
    if (name.empty())
        fail(std::string(role) + " without a name");
    ValueInfo info{name, {}};
    if (!readTensorShape(type, name, role, info.dims))
        fail(std::string(role) + " '" + name + "' has no tensor shape");
    return info;
}

std::string describeDims(const std::vector<int64_t>& dims)
{
    std::string text = "[";
    for (size_t i = 0; i < dims.size(); ++i)
        text +=
            (i ? "," : "") + (dims[i] == kSymbolicDim ? std::string("N") : std::to_string(dims[i]));
    return text + "]";
}

// The runtime feeds exactly one tensor, `image` [N,3,H,W] (model-format section 2). OpenCV 4.6
// throws std::length_error or crashes on a Conv over an input of another rank, so the shape is
// checked here against the size the metadata promised.
void checkGraphInputs(const std::vector<ValueInfo>& inputs,
                      const std::set<std::string>& initializers, Size inputSize)
{
    bool hasImage = false;
    for (const ValueInfo& in : inputs) {
        if (in.name != "image") {
            if (!initializers.count(in.name))
                fail("graph input '" + in.name +
                     "' is not 'image', the only input the runtime feeds");
            continue;
        }
        const std::vector<int64_t> expected{kSymbolicDim, 3, inputSize.height, inputSize.width};
        const bool batchOk = !in.dims.empty() && (in.dims[0] == kSymbolicDim || in.dims[0] > 0);
        if (in.dims.size() != 4 || !batchOk ||
            !std::equal(in.dims.begin() + 1, in.dims.end(), expected.begin() + 1))
            fail("graph input 'image' has shape " + describeDims(in.dims) + ", expected " +
                 describeDims(expected) + " (N,3,anomaly.input_height,anomaly.input_width)");
        hasImage = true;
    }
    if (!hasImage)
        fail("the graph has no input named 'image'");
}

void checkAttribute(WireReader r)
{
    while (!r.atEnd()) {
        const auto [field, wire] = r.tag();
        if (field == attribute_field::kTensor && wire == kLengthDelimited) {
            if (checkTensor(r.sub(), "attribute tensor"))
                fail("empty attribute tensors are not supported");
        } else if (field == attribute_field::kGraph || field == attribute_field::kGraphs ||
                   field == attribute_field::kTensors)
            fail("node attributes holding graphs or tensor lists are not supported");
        else
            r.skip(wire);
    }
}

/** The graph's names so far: every defined value, and the initializers that hold no values. */
struct DefinedValues
{
    std::set<std::string> names, emptyInitializers;
};

void checkNode(WireReader r, DefinedValues& defined, int index)
{
    std::vector<std::string> inputs, outputs;
    std::string opType;
    while (!r.atEnd()) {
        const auto [field, wire] = r.tag();
        if (field == node_field::kInput && wire == kLengthDelimited)
            inputs.push_back(r.string());
        else if (field == node_field::kOutput && wire == kLengthDelimited)
            outputs.push_back(r.string());
        else if (field == node_field::kOpType && wire == kLengthDelimited)
            opType = r.string();
        else if (field == node_field::kAttribute && wire == kLengthDelimited)
            checkAttribute(r.sub());
        else
            r.skip(wire);
    }
    const std::string where = cv::format("node %d (%s)", index, opType.c_str());
    if (opType.empty())
        fail(where + " has no op_type");
    for (size_t i = 0; i < inputs.size(); ++i) {
        const std::string& in = inputs[i];
        if (in.empty() || !defined.names.count(in))
            fail(where + " reads '" + in +
                 "', which no graph input, initializer or earlier node defines");
        // OpenCV 4.6's importer divides by zero on some empty weights (found by fuzz_model_load);
        // the format's only empty tensor is Resize's roi (doc/model-format.md section 6).
        if (defined.emptyInitializers.count(in) && !(opType == "Resize" && i == 1))
            fail(where + " reads the empty initializer '" + in +
                 "'; only a Resize roi may be empty");
    }
    if (outputs.empty())
        fail(where + " has no outputs");
    for (const auto& out : outputs)
        if (out.empty() || !defined.names.insert(out).second)
            fail(where + " has an empty or duplicate output name '" + out + "'");
}

std::string tensorName(WireReader r)
{
    while (!r.atEnd()) {
        const auto [field, wire] = r.tag();
        if (field == tensor_field::kName && wire == kLengthDelimited)
            return r.string();
        r.skip(wire);
    }
    return {};
}

void checkGraph(WireReader graph, Size inputSize)
{
    // Pass 1: what is defined before any node runs (inputs, initializers), and the outputs.
    DefinedValues defined;
    std::set<std::string> initializers;
    std::vector<ValueInfo> inputs;
    std::vector<std::string> outputs;
    WireReader first = graph;
    while (!first.atEnd()) {
        const auto [field, wire] = first.tag();
        if (field == graph_field::kInitializer && wire == kLengthDelimited) {
            WireReader tensor = first.sub();
            const bool empty = checkTensor(tensor, "initializer");
            const std::string name = tensorName(tensor);
            defined.names.insert(name);
            initializers.insert(name);
            if (empty)
                defined.emptyInitializers.insert(name);
        } else if (field == graph_field::kInput && wire == kLengthDelimited) {
            inputs.push_back(checkValueInfo(first.sub(), "graph input"));
            defined.names.insert(inputs.back().name);
        } else if (field == graph_field::kOutput && wire == kLengthDelimited) {
            outputs.push_back(checkValueInfo(first.sub(), "graph output").name);
        } else if (field == graph_field::kSparseInitializer) {
            fail("sparse initializers are not supported");
        } else {
            first.skip(wire);
        }
    }
    checkGraphInputs(inputs, initializers, inputSize);
    // Pass 2: nodes in order (ONNX requires topological order).
    int index = 0;
    while (!graph.atEnd()) {
        const auto [field, wire] = graph.tag();
        if (field == graph_field::kNode && wire == kLengthDelimited)
            checkNode(graph.sub(), defined, index++);
        else
            graph.skip(wire);
    }
    if (index == 0)
        fail("the graph has no nodes");
    if (outputs.empty())
        fail("the graph has no outputs");
    for (const auto& out : outputs)
        if (!defined.names.count(out))
            fail("graph output '" + out + "' is not computed by any node");
}

}  // namespace

void checkOnnxGraphStructure(const std::vector<uchar>& modelBytes, Size inputSize)
{
    WireReader model(modelBytes.data(), modelBytes.data() + modelBytes.size());
    bool hasGraph = false;
    while (!model.atEnd()) {
        const auto [field, wire] = model.tag();
        if (field == model_field::kGraph && wire == kLengthDelimited) {
            if (hasGraph)
                fail("more than one graph");
            checkGraph(model.sub(), inputSize);
            hasGraph = true;
        } else {
            model.skip(wire);
        }
    }
    if (!hasGraph)
        fail("no graph");
}

}  // namespace anomaly
}  // namespace cv
