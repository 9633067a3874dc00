// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "inverted_residual_expansion.hpp"

#include "precomp.hpp"
#include "protobuf_wire.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace cv {
namespace anomaly {

namespace {

// Field numbers of onnx.proto.
constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphNode = 1;
constexpr uint32_t kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4,
                   kNodeAttribute = 5, kNodeDomain = 7;
constexpr uint32_t kAttributeName = 1, kAttributeInt = 3;

const char* const kDomain = "org.opencv.anomaly";
const char* const kOpType = "InvertedResidual";

void putVarint(std::string& out, uint64_t value)
{
    while (value >= 0x80) {
        out.push_back(char((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(char(value));
}

void putBytes(std::string& out, uint32_t field, const std::string& bytes)
{
    putVarint(out, uint64_t(field) << 3 | kLengthDelimited);
    putVarint(out, bytes.size());
    out += bytes;
}

std::string bytesOf(const WireReader& r)
{
    return std::string(reinterpret_cast<const char*>(r.data()), r.size());
}

/** What the expansion needs of a node; attributes are kept as their encoded bytes. */
struct Node
{
    std::vector<std::string> inputs, outputs;
    std::string name, opType, domain;
    std::vector<std::pair<std::string, std::string>> attributes;  // name, encoded AttributeProto
};

std::string attributeName(WireReader r)
{
    while (!r.atEnd()) {
        const WireReader::Tag t = r.tag();
        if (t.field == kAttributeName && t.wire == kLengthDelimited)
            return r.string();
        r.skip(t.wire);
    }
    return std::string();
}

int64_t attributeInt(WireReader r)
{
    while (!r.atEnd()) {
        const WireReader::Tag t = r.tag();
        if (t.field == kAttributeInt && t.wire == kVarint)
            return int64_t(r.varint());
        r.skip(t.wire);
    }
    return 0;
}

Node parseNode(WireReader r)
{
    Node n;
    while (!r.atEnd()) {
        const WireReader::Tag t = r.tag();
        if (t.wire != kLengthDelimited) {
            r.skip(t.wire);
            continue;
        }
        switch (t.field) {
            case kNodeInput:
                n.inputs.push_back(r.string());
                break;
            case kNodeOutput:
                n.outputs.push_back(r.string());
                break;
            case kNodeName:
                n.name = r.string();
                break;
            case kNodeOpType:
                n.opType = r.string();
                break;
            case kNodeDomain:
                n.domain = r.string();
                break;
            case kNodeAttribute: {
                const WireReader attribute = r.sub();
                n.attributes.emplace_back(attributeName(attribute), bytesOf(attribute));
                break;
            }
            default:
                r.skip(t.wire);
        }
    }
    return n;
}

std::string encodeNode(const Node& n)
{
    std::string out;
    for (const auto& in : n.inputs)
        putBytes(out, kNodeInput, in);
    for (const auto& o : n.outputs)
        putBytes(out, kNodeOutput, o);
    putBytes(out, kNodeName, n.name);
    putBytes(out, kNodeOpType, n.opType);
    for (const auto& a : n.attributes)
        putBytes(out, kNodeAttribute, a.second);
    if (!n.domain.empty())
        putBytes(out, kNodeDomain, n.domain);
    return out;
}

Node makeNode(const std::string& name, const std::string& opType, const std::string& domain,
              std::vector<std::string> inputs, const std::string& output)
{
    Node n;
    n.name = name;
    n.opType = opType;
    n.domain = domain;
    n.inputs = std::move(inputs);
    n.outputs = {output};
    return n;
}

/** The nodes of the block's definition, encoded, each as a GraphProto node field. */
std::string expandNode(const Node& block)
{
    if ((block.inputs.size() != 5 && block.inputs.size() != 7) || block.outputs.size() != 1)
        CV_Error(Error::StsBadArg,
                 cv::format("InvertedResidual '%s': expects 5 or 7 inputs and 1 output",
                            block.name.c_str()));
    const std::string& x = block.inputs[0];
    const std::string& y = block.outputs[0];
    const size_t d = block.inputs.size() - 4;  // the depthwise weight
    bool residual = false;
    Node depthwise =
        makeNode(block.name + "/depthwise", "DepthwiseConv", kDomain, {}, y + "/depthwise");
    for (const auto& a : block.attributes) {
        if (a.first == "residual")
            residual = attributeInt(WireReader(
                           reinterpret_cast<const uchar*>(a.second.data()),
                           reinterpret_cast<const uchar*>(a.second.data()) + a.second.size())) != 0;
        else
            depthwise.attributes.push_back(a);  // stride, padding: DepthwiseConv's own
    }
    std::vector<Node> nodes;
    std::string hidden = x;
    if (d == 3) {
        nodes.push_back(makeNode(block.name + "/expand", "PointwiseConv", kDomain,
                                 {x, block.inputs[1], block.inputs[2]}, y + "/expanded"));
        nodes.push_back(makeNode(block.name + "/expand_relu6", "Relu6", kDomain, {y + "/expanded"},
                                 y + "/expanded_relu6"));
        hidden = y + "/expanded_relu6";
    }
    depthwise.inputs = {hidden, block.inputs[d], block.inputs[d + 1]};
    nodes.push_back(depthwise);
    nodes.push_back(makeNode(block.name + "/depthwise_relu6", "Relu6", kDomain, {y + "/depthwise"},
                             y + "/depthwise_relu6"));
    nodes.push_back(makeNode(block.name + "/project", "PointwiseConv", kDomain,
                             {y + "/depthwise_relu6", block.inputs[d + 2], block.inputs[d + 3]},
                             residual ? y + "/projected" : y));
    if (residual)
        nodes.push_back(makeNode(block.name + "/add", "Add", "", {y + "/projected", x}, y));
    std::string out;
    for (const Node& n : nodes)
        putBytes(out, kGraphNode, encodeNode(n));
    return out;
}

std::string expandGraph(WireReader r)
{
    std::string out;
    while (!r.atEnd()) {
        const uchar* start = r.data();
        const WireReader::Tag t = r.tag();
        if (t.field == kGraphNode && t.wire == kLengthDelimited) {
            const WireReader nodeBytes = r.sub();
            const Node n = parseNode(nodeBytes);
            if (n.opType == kOpType && n.domain == kDomain) {
                out += expandNode(n);
                continue;
            }
        } else {
            r.skip(t.wire);
        }
        out.append(reinterpret_cast<const char*>(start), size_t(r.data() - start));
    }
    return out;
}

}  // namespace

std::vector<uchar> expandInvertedResiduals(const std::vector<uchar>& onnxBytes)
{
    // The op type appears in the file wherever a node uses it; without it nothing changes.
    const std::string needle = kOpType;
    if (std::search(onnxBytes.begin(), onnxBytes.end(), needle.begin(), needle.end()) ==
        onnxBytes.end())
        return onnxBytes;
    std::string out;
    WireReader r(onnxBytes.data(), onnxBytes.data() + onnxBytes.size());
    while (!r.atEnd()) {
        const uchar* start = r.data();
        const WireReader::Tag t = r.tag();
        if (t.field == kModelGraph && t.wire == kLengthDelimited) {
            putBytes(out, kModelGraph, expandGraph(r.sub()));
            continue;
        }
        r.skip(t.wire);
        out.append(reinterpret_cast<const char*>(start), size_t(r.data() - start));
    }
    return std::vector<uchar>(out.begin(), out.end());
}

}  // namespace anomaly
}  // namespace cv
