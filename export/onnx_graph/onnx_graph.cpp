// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "onnx_graph.hpp"

#include <atomic_file.hpp>

#include <onnx/checker.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace anomaly_export {

namespace {

onnx::AttributeProto namedAttr(const std::string& name, onnx::AttributeProto::AttributeType type)
{
    onnx::AttributeProto a;
    a.set_name(name);
    a.set_type(type);
    return a;
}

void setShape(onnx::ValueInfoProto* info, const std::vector<int64_t>& shape)
{
    auto* tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(onnx::TensorProto::FLOAT);
    auto* dims = tensor->mutable_shape();
    for (int64_t d : shape) {
        if (d < 0)
            dims->add_dim()->set_dim_param("N");
        else
            dims->add_dim()->set_dim_value(d);
    }
}

}  // namespace

onnx::AttributeProto attrInt(const std::string& name, int64_t value)
{
    auto a = namedAttr(name, onnx::AttributeProto::INT);
    a.set_i(value);
    return a;
}

onnx::AttributeProto attrFloat(const std::string& name, float value)
{
    auto a = namedAttr(name, onnx::AttributeProto::FLOAT);
    a.set_f(value);
    return a;
}

onnx::AttributeProto attrInts(const std::string& name, const std::vector<int64_t>& values)
{
    auto a = namedAttr(name, onnx::AttributeProto::INTS);
    for (int64_t v : values)
        a.add_ints(v);
    return a;
}

onnx::AttributeProto attrFloats(const std::string& name, const std::vector<float>& values)
{
    auto a = namedAttr(name, onnx::AttributeProto::FLOATS);
    for (float v : values)
        a.add_floats(v);
    return a;
}

onnx::AttributeProto attrString(const std::string& name, const std::string& value)
{
    auto a = namedAttr(name, onnx::AttributeProto::STRING);
    a.set_s(value);
    return a;
}

ConvolutionNode onnxConvolutionNode(int64_t kernelH, int64_t kernelW, int64_t stride,
                                    const std::vector<int64_t>& pads, int64_t group,
                                    int64_t dilation)
{
    return {"Conv",
            "",
            {attrInts("kernel_shape", {kernelH, kernelW}), attrInts("strides", {stride, stride}),
             attrInts("pads", pads), attrInt("group", group),
             attrInts("dilations", {dilation, dilation})},
            false};
}

ConvolutionNode convolutionNode(int64_t inChannels, int64_t outChannels, int64_t group,
                                int64_t kernelH, int64_t kernelW, int64_t stride,
                                const std::vector<int64_t>& pads, int64_t dilation)
{
    if (dilation > 1)
        return onnxConvolutionNode(kernelH, kernelW, stride, pads, group, dilation);
    const bool spatial = kernelH * kernelW > 1;
    if (group == inChannels && outChannels == group && (group > 1 || spatial))
        // Not ONNX Conv's "strides"/"pads": OpenCV's importer renames and reinterprets those.
        return {kDepthwiseConvOp,
                kCustomDomain,
                {attrInt("stride", stride), attrInts("padding", pads)},
                true};
    const bool unpadded = std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p == 0; });
    if (group == 1 && !spatial && stride == 1 && unpadded)
        return {kPointwiseConvOp, kCustomDomain, {}, true};
    if (group == 1)
        return {kDenseConvOp,
                kCustomDomain,
                {attrInt("stride", stride), attrInts("padding", pads)},
                true};
    return onnxConvolutionNode(kernelH, kernelW, stride, pads, group, 1);
}

OnnxGraphBuilder::OnnxGraphBuilder(const std::string& graphName)
{
    model_.set_ir_version(onnx::IR_VERSION);
    model_.set_producer_name("opencv_anomaly");
    model_.mutable_graph()->set_name(graphName);
    ensureOpset("", kAiOnnxOpset);
}

OnnxGraphBuilder::OnnxGraphBuilder(onnx::ModelProto model) : model_(std::move(model))
{
    const auto& g = model_.graph();
    for (const auto& v : g.input())
        noteName(v.name());
    for (const auto& v : g.initializer())
        noteName(v.name());
    for (const auto& n : g.node()) {
        noteName(n.name());
        for (const auto& o : n.output())
            noteName(o);
    }
    if (model_.ir_version() < 7)
        model_.set_ir_version(onnx::IR_VERSION);
    ensureOpset("", kAiOnnxOpset);
}

void OnnxGraphBuilder::noteName(const std::string& name)
{
    if (!name.empty())
        usedNames_.push_back(name);
}

std::string OnnxGraphBuilder::uniqueName(const std::string& prefix)
{
    for (;;) {
        std::string candidate = prefix + "_" + std::to_string(nameCounter_++);
        if (std::find(usedNames_.begin(), usedNames_.end(), candidate) == usedNames_.end()) {
            usedNames_.push_back(candidate);
            return candidate;
        }
    }
}

void OnnxGraphBuilder::ensureOpset(const std::string& domain, int64_t version)
{
    for (auto& op : *model_.mutable_opset_import()) {
        if (op.domain() == domain) {
            op.set_version(std::max(op.version(), version));
            return;
        }
    }
    auto* op = model_.add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
}

void OnnxGraphBuilder::addInput(const std::string& name, const std::vector<int64_t>& shape)
{
    noteName(name);
    setShape(model_.mutable_graph()->add_input(), shape);
    model_.mutable_graph()->mutable_input()->rbegin()->set_name(name);
}

void OnnxGraphBuilder::addOutput(const std::string& name, const std::vector<int64_t>& shape)
{
    auto* out = model_.mutable_graph()->add_output();
    out->set_name(name);
    setShape(out, shape);
}

bool OnnxGraphBuilder::removeOutput(const std::string& name)
{
    auto* outputs = model_.mutable_graph()->mutable_output();
    for (int i = 0; i < outputs->size(); ++i) {
        if (outputs->Get(i).name() == name) {
            outputs->DeleteSubrange(i, 1);
            return true;
        }
    }
    return false;
}

std::string OnnxGraphBuilder::addInitializer(const std::string& name,
                                             const std::vector<int64_t>& shape, const float* data)
{
    noteName(name);
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    int64_t total = 1;
    for (int64_t d : shape) {
        t->add_dims(d);
        total *= d;
    }
    t->set_raw_data(reinterpret_cast<const char*>(data),
                    static_cast<size_t>(total) * sizeof(float));
    return name;
}

std::string OnnxGraphBuilder::addInt64Initializer(const std::string& name,
                                                  const std::vector<int64_t>& values)
{
    noteName(name);
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    t->set_raw_data(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(int64_t));
    return name;
}

std::string OnnxGraphBuilder::addNode(const std::string& opType,
                                      const std::vector<std::string>& inputs,
                                      const std::string& output,
                                      const std::vector<onnx::AttributeProto>& attributes,
                                      const std::string& domain)
{
    addNode(opType, inputs, std::vector<std::string>{output}, attributes, domain);
    return output;
}

void OnnxGraphBuilder::addNode(const std::string& opType, const std::vector<std::string>& inputs,
                               const std::vector<std::string>& outputs,
                               const std::vector<onnx::AttributeProto>& attributes,
                               const std::string& domain)
{
    auto* node = model_.mutable_graph()->add_node();
    node->set_op_type(opType);
    node->set_name(uniqueName(opType));
    if (!domain.empty()) {
        node->set_domain(domain);
        ensureOpset(domain, domain == kCustomDomain ? kCustomDomainVersion : 1);
    }
    for (const auto& in : inputs)
        node->add_input(in);
    for (const auto& out : outputs) {
        node->add_output(out);
        noteName(out);
    }
    for (const auto& a : attributes)
        *node->add_attribute() = a;
}

void OnnxGraphBuilder::setMetadata(const std::string& key, const std::string& value)
{
    for (auto& p : *model_.mutable_metadata_props()) {
        if (p.key() == key) {
            p.set_value(value);
            return;
        }
    }
    auto* p = model_.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
}

std::string OnnxGraphBuilder::metadata(const std::string& key) const
{
    for (const auto& p : model_.metadata_props())
        if (p.key() == key)
            return p.value();
    return {};
}

void OnnxGraphBuilder::save(const std::string& path) const
{
    try {
        onnx::checker::check_model(model_);
    } catch (const std::exception& e) {
        throw std::runtime_error("ONNX check failed for " + path + ": " + e.what());
    }
    anomaly_samples::writeFileAtomically(path, [this](const std::string& temporary) {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out || !model_.SerializeToOstream(&out) || !out.flush())
            throw std::runtime_error("cannot write " + temporary);
    });
}

onnx::ModelProto loadOnnxModel(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open ONNX model " + path);
    onnx::ModelProto model;
    if (!model.ParseFromIstream(&in))
        throw std::runtime_error("not a valid ONNX model: " + path);
    return model;
}

std::vector<unsigned char> serializeOnnxModel(const onnx::ModelProto& model)
{
    std::string bytes;
    if (!model.SerializeToString(&bytes))
        throw std::runtime_error("cannot serialise ONNX model");
    return std::vector<unsigned char>(bytes.begin(), bytes.end());
}

}  // namespace anomaly_export
