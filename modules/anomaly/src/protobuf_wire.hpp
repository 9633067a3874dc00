// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// A bounds-checked reader of the protobuf wire format, enough to walk ONNX messages without an ONNX
// or protobuf library. Every malformed or truncated input raises cv::Exception (StsParseError).
#ifndef OPENCV_ANOMALY_PROTOBUF_WIRE_HPP
#define OPENCV_ANOMALY_PROTOBUF_WIRE_HPP

#include <opencv2/core.hpp>

#include <string>

namespace cv {
namespace anomaly {

enum WireType : uint32_t
{
    kVarint = 0,
    kFixed64 = 1,
    kLengthDelimited = 2,
    kFixed32 = 5
};

class WireReader
{
public:
    /** Next field: its number and wire type. */
    struct Tag
    {
        uint32_t field;
        uint32_t wire;
    };
    Tag tag()
    {
        const uint64_t t = varint();
        if ((t >> 3) == 0 || (t >> 3) > 0x1fffffff)
            CV_Error(Error::StsParseError, "ONNX model: invalid field number (not an ONNX file?)");
        return Tag{uint32_t(t >> 3), uint32_t(t & 7)};
    }
    size_t size() const { return size_t(end_ - p_); }
    const uchar* data() const { return p_; }

    WireReader(const uchar* begin, const uchar* end) : p_(begin), end_(end) {}

    bool atEnd() const { return p_ >= end_; }

    uint64_t varint()
    {
        uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ >= end_)
                CV_Error(Error::StsParseError, "ONNX model: truncated varint (file cut short?)");
            const uchar byte = *p_++;
            value |= uint64_t(byte & 0x7f) << shift;
            if (!(byte & 0x80))
                return value;
        }
        CV_Error(Error::StsParseError, "ONNX model: malformed varint (not an ONNX file?)");
    }

    // Returns the bytes of a length-delimited field and advances past them.
    WireReader sub()
    {
        const uint64_t length = varint();
        if (length > uint64_t(end_ - p_))
            CV_Error(Error::StsParseError, "ONNX model: field runs past the end (file cut short?)");
        WireReader inner(p_, p_ + length);
        p_ += length;
        return inner;
    }

    std::string string()
    {
        WireReader inner = sub();
        return std::string(reinterpret_cast<const char*>(inner.p_), inner.end_ - inner.p_);
    }

    void skip(uint32_t wireType)
    {
        switch (wireType) {
            case kVarint:
                varint();
                return;
            case kFixed64:
                advance(8);
                return;
            case kLengthDelimited:
                sub();
                return;
            case kFixed32:
                advance(4);
                return;
            default:
                CV_Error(Error::StsParseError,
                         cv::format("ONNX model: unknown protobuf wire type %u (not an ONNX file?)",
                                    wireType));
        }
    }

private:
    void advance(size_t n)
    {
        if (n > size_t(end_ - p_))
            CV_Error(Error::StsParseError, "ONNX model: truncated field (file cut short?)");
        p_ += n;
    }

    const uchar* p_;
    const uchar* end_;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_PROTOBUF_WIRE_HPP
