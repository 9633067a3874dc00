// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
//
// A minimal ONNX protobuf *encoder* for tests, written from onnx.proto's field numbers. It is
// deliberately independent of libonnx and of the export tool's writer, so module tests build tiny
// models with hand-computable outputs without sharing code with what they test.
#ifndef OPENCV_ANOMALY_ONNX_TEST_WRITER_HPP
#define OPENCV_ANOMALY_ONNX_TEST_WRITER_HPP

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace opencv_test {

class ProtoWriter
{
public:
    void varintField(uint32_t field, uint64_t v)
    {
        tag(field, 0);
        varint(v);
    }
    void floatField(uint32_t field, float v)
    {
        tag(field, 5);
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        for (int i = 0; i < 4; ++i)
            bytes_.push_back(char((bits >> (8 * i)) & 0xff));
    }
    void bytesField(uint32_t field, const std::string& s)
    {
        tag(field, 2);
        varint(s.size());
        bytes_ += s;
    }
    void messageField(uint32_t field, const ProtoWriter& m) { bytesField(field, m.bytes_); }
    const std::string& bytes() const { return bytes_; }

private:
    void tag(uint32_t field, uint32_t wire) { varint((uint64_t(field) << 3) | wire); }
    void varint(uint64_t v)
    {
        do {
            uint8_t b = v & 0x7f;
            v >>= 7;
            bytes_.push_back(char(v ? (b | 0x80) : b));
        } while (v);
    }
    std::string bytes_;
};

struct TestAttr
{
    std::string name;
    enum Kind
    {
        Int,
        Float,
        Ints,
        Text
    } kind;
    int64_t i = 0;
    float f = 0;
    std::vector<int64_t> ints;
    std::string s;
    static TestAttr integer(const std::string& n, int64_t v) { return {n, Int, v, 0, {}, {}}; }
    static TestAttr real(const std::string& n, float v) { return {n, Float, 0, v, {}, {}}; }
    static TestAttr list(const std::string& n, std::vector<int64_t> v)
    {
        return {n, Ints, 0, 0, v, {}};
    }
    static TestAttr string(const std::string& n, const std::string& v)
    {
        return {n, Text, 0, 0, {}, v};
    }
};

/** Builds a ModelProto: nodes, float/int64 initializers, input `image`, outputs, metadata. */
class TestModel
{
public:
    TestModel()
    {
        ProtoWriter opset;
        opset.bytesField(1, "");
        opset.varintField(2, 13);
        opsets_.push_back(opset);
    }
    void useCustomDomain()
    {
        ProtoWriter opset;
        opset.bytesField(1, "org.opencv.anomaly");
        opset.varintField(2, 1);
        opsets_.push_back(opset);
    }
    void input(const std::string& name, const std::vector<int64_t>& shape)
    {
        inputs_.push_back(valueInfo(name, shape));
    }
    void output(const std::string& name, const std::vector<int64_t>& shape)
    {
        outputs_.push_back(valueInfo(name, shape));
    }
    void floatTensor(const std::string& name, const std::vector<int64_t>& dims,
                     const std::vector<float>& values)
    {
        tensor(name, dims, 1,
               std::string(reinterpret_cast<const char*>(values.data()),
                           values.size() * sizeof(float)));
    }
    void int64Tensor(const std::string& name, const std::vector<int64_t>& values)
    {
        tensor(name, {int64_t(values.size())}, 7,
               std::string(reinterpret_cast<const char*>(values.data()),
                           values.size() * sizeof(int64_t)));
    }
    void node(const std::string& op, const std::vector<std::string>& in,
              const std::vector<std::string>& out, const std::vector<TestAttr>& attrs = {},
              const std::string& domain = "")
    {
        ProtoWriter n;
        for (const auto& i : in)
            n.bytesField(1, i);
        for (const auto& o : out)
            n.bytesField(2, o);
        n.bytesField(3, op + "_" + std::to_string(nodes_.size()));
        n.bytesField(4, op);
        for (const auto& a : attrs) {
            ProtoWriter w;
            w.bytesField(1, a.name);
            if (a.kind == TestAttr::Int) {
                w.varintField(3, uint64_t(a.i));
                w.varintField(20, 2);
            } else if (a.kind == TestAttr::Float) {
                w.floatField(2, a.f);
                w.varintField(20, 1);
            } else if (a.kind == TestAttr::Text) {
                w.bytesField(4, a.s);
                w.varintField(20, 3);
            } else {
                for (int64_t v : a.ints)
                    w.varintField(8, uint64_t(v));
                w.varintField(20, 7);
            }
            n.messageField(5, w);
        }
        if (!domain.empty())
            n.bytesField(7, domain);
        nodes_.push_back(n);
    }
    void metadata(const std::string& key, const std::string& value) { meta_[key] = value; }
    void eraseMetadata(const std::string& key) { meta_.erase(key); }

    std::vector<unsigned char> serialize(int64_t irVersion = 7) const
    {
        ProtoWriter graph;
        for (const auto& n : nodes_)
            graph.messageField(1, n);
        graph.bytesField(2, "test_graph");
        for (const auto& t : initializers_)
            graph.messageField(5, t);
        for (const auto& i : inputs_)
            graph.messageField(11, i);
        for (const auto& o : outputs_)
            graph.messageField(12, o);
        ProtoWriter model;
        model.varintField(1, uint64_t(irVersion));
        model.bytesField(2, "opencv_anomaly_tests");
        model.messageField(7, graph);
        for (const auto& o : opsets_)
            model.messageField(8, o);
        for (const auto& kv : meta_) {
            ProtoWriter e;
            e.bytesField(1, kv.first);
            e.bytesField(2, kv.second);
            model.messageField(14, e);
        }
        const std::string& b = model.bytes();
        return std::vector<unsigned char>(b.begin(), b.end());
    }

private:
    static ProtoWriter valueInfo(const std::string& name, const std::vector<int64_t>& shape)
    {
        ProtoWriter dims;
        for (int64_t d : shape) {
            ProtoWriter dim;
            if (d < 0)
                dim.bytesField(2, "N");
            else
                dim.varintField(1, uint64_t(d));
            dims.messageField(1, dim);
        }
        ProtoWriter tensorType;
        tensorType.varintField(1, 1);  // FLOAT
        tensorType.messageField(2, dims);
        ProtoWriter type;
        type.messageField(1, tensorType);
        ProtoWriter info;
        info.bytesField(1, name);
        info.messageField(2, type);
        return info;
    }
    void tensor(const std::string& name, const std::vector<int64_t>& dims, int type,
                const std::string& raw)
    {
        ProtoWriter t;
        for (int64_t d : dims)
            t.varintField(1, uint64_t(d));
        t.varintField(2, uint64_t(type));
        t.bytesField(8, name);
        t.bytesField(9, raw);
        initializers_.push_back(t);
    }

    std::vector<ProtoWriter> opsets_, nodes_, initializers_, inputs_, outputs_;
    std::map<std::string, std::string> meta_;
};

}  // namespace opencv_test

#endif  // OPENCV_ANOMALY_ONNX_TEST_WRITER_HPP
