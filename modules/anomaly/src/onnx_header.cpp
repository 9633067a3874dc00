// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
//
// Reads the few top-level fields of an ONNX ModelProto straight from the protobuf wire format, so
// the runtime can check a model's format version and metadata without linking an ONNX or protobuf
// library (the runtime links OpenCV only). Everything else (the graph) is skipped unparsed; cv::dnn
// reads it.
#include "precomp.hpp"

#include "protobuf_wire.hpp"

#include <fstream>

namespace cv {
namespace anomaly {

namespace {

// ModelProto and StringStringEntryProto / OperatorSetIdProto field numbers (onnx.proto).
constexpr uint32_t kModelIrVersion = 1;
constexpr uint32_t kModelOpsetImport = 8;
constexpr uint32_t kModelMetadataProps = 14;
constexpr uint32_t kEntryKey = 1;
constexpr uint32_t kEntryValue = 2;
constexpr uint32_t kOpsetDomain = 1;
constexpr uint32_t kOpsetVersion = 2;

std::pair<std::string, std::string> readStringEntry(WireReader r)
{
    std::pair<std::string, std::string> entry;
    while (!r.atEnd()) {
        const auto [field, wire] = r.tag();
        if (field == kEntryKey && wire == kLengthDelimited)
            entry.first = r.string();
        else if (field == kEntryValue && wire == kLengthDelimited)
            entry.second = r.string();
        else
            r.skip(wire);
    }
    return entry;
}

std::pair<std::string, long long> readOpset(WireReader r)
{
    std::pair<std::string, long long> opset{"", 0};
    while (!r.atEnd()) {
        const auto [field, wire] = r.tag();
        if (field == kOpsetDomain && wire == kLengthDelimited)
            opset.first = r.string();
        else if (field == kOpsetVersion && wire == kVarint)
            opset.second = static_cast<long long>(r.varint());
        else
            r.skip(wire);
    }
    return opset;
}

}  // namespace

OnnxModelHeader parseOnnxModelHeader(const std::vector<uchar>& bytes)
{
    if (bytes.empty())
        CV_Error(Error::StsParseError, "ONNX model: empty data");
    OnnxModelHeader header;
    WireReader r(bytes.data(), bytes.data() + bytes.size());
    while (!r.atEnd()) {
        const auto [field, wire] = r.tag();
        if (field == 0)
            CV_Error(Error::StsParseError,
                     "ONNX model: invalid field number 0 (not an ONNX file?)");
        if (field == kModelIrVersion && wire == kVarint) {
            header.irVersion = static_cast<long long>(r.varint());
        } else if (field == kModelOpsetImport && wire == kLengthDelimited) {
            header.opsetImports.insert(readOpset(r.sub()));
        } else if (field == kModelMetadataProps && wire == kLengthDelimited) {
            auto entry = readStringEntry(r.sub());
            header.metadata[entry.first] = entry.second;
        } else {
            r.skip(wire);
        }
    }
    return header;
}

std::vector<uchar> readFileBytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in)
        CV_Error(Error::StsObjectNotFound, "cannot open model file '" + path + "'");
    const std::streamoff size = in.tellg();
    if (size < 0)
        CV_Error(Error::StsError, "cannot read model file '" + path + "'");
    std::vector<uchar> bytes(static_cast<size_t>(size));
    in.seekg(0);
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
        CV_Error(Error::StsError, "cannot read model file '" + path + "'");
    return bytes;
}

}  // namespace anomaly
}  // namespace cv
