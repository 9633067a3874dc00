// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "model_settings.hpp"

#include "precomp.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace cv {
namespace anomaly {

namespace {

constexpr int kFormatMajor = 1;
constexpr int kFormatMinor = 10;  // doc/model-format.md: the ops and keys this build knows

const std::string& requireKey(const std::map<std::string, std::string>& md, const std::string& key)
{
    auto it = md.find(key);
    if (it == md.end())
        CV_Error(Error::StsParseError,
                 "anomaly model: required metadata key '" + key +
                     "' is missing (is this a model written by anomaly_train?)");
    return it->second;
}

double parseNumber(const std::string& key, const std::string& text)
{
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v))
        CV_Error(Error::StsParseError,
                 "anomaly model: metadata '" + key + "' is not a number: '" + text + "'");
    return v;
}

std::vector<double> parseNumbers(const std::string& key, const std::string& text, size_t count)
{
    std::vector<double> values;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = text.find(',', start);
        const size_t stop = comma == std::string::npos ? text.size() : comma;
        values.push_back(parseNumber(key, text.substr(start, stop - start)));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    if (values.size() != count)
        CV_Error(
            Error::StsParseError,
            cv::format("anomaly model: metadata '%s' needs %d comma-separated numbers, got '%s'",
                       key.c_str(), int(count), text.c_str()));
    return values;
}

int parsePositiveInt(const std::string& key, const std::string& text)
{
    const double v = parseNumber(key, text);
    if (v < 1 || v > 16384 || v != std::floor(v))
        CV_Error(Error::StsParseError, "anomaly model: metadata '" + key +
                                           "' must be a positive integer, got '" + text + "'");
    return int(v);
}

void parseVersion(const std::string& text, int& major, int& minor)
{
    const size_t dot = text.find('.');
    if (dot == std::string::npos)
        CV_Error(
            Error::StsParseError,
            "anomaly model: 'anomaly.format_version' must be 'major.minor', got '" + text + "'");
    major = int(parseNumber("anomaly.format_version", text.substr(0, dot)));
    minor = int(parseNumber("anomaly.format_version", text.substr(dot + 1)));
    if (major != kFormatMajor)
        CV_Error(Error::StsNotImplemented,
                 cv::format("anomaly model: format version %s is not supported: this build reads "
                            "version %d.x (up to %d.%d); re-export the model with a matching "
                            "anomaly_train",
                            text.c_str(), kFormatMajor, kFormatMajor, kFormatMinor));
}

void parseRange(const std::map<std::string, std::string>& md, const std::string& key, float& lo,
                float& hi)
{
    const auto v = parseNumbers(key, requireKey(md, key), 2);
    if (!(v[1] > v[0]))
        CV_Error(Error::StsParseError, "anomaly model: metadata '" + key + "' needs min < max");
    lo = float(v[0]);
    hi = float(v[1]);
}

ScoreReduction parseReduction(const std::string& text)
{
    ScoreReduction r;
    if (text == "max")
        return r;
    if (text.rfind("topk:", 0) == 0) {
        r.topK = parsePositiveInt("anomaly.score.reduction", text.substr(5));
        return r;
    }
    CV_Error(
        Error::StsParseError,
        "anomaly model: 'anomaly.score.reduction' must be 'max' or 'topk:K', got '" + text + "'");
}

}  // namespace

int formatVersionMajor()
{
    return kFormatMajor;
}

int formatVersionMinor()
{
    return kFormatMinor;
}

ModelSettings parseModelSettings(const OnnxModelHeader& header)
{
    if (header.irVersion < 3 || header.opsetImports.empty())
        CV_Error(Error::StsParseError,
                 "anomaly model: not a usable ONNX model (ir_version < 3 or no opset_import)");
    const auto& md = header.metadata;
    ModelSettings s;
    s.metadata = md;
    parseVersion(requireKey(md, "anomaly.format_version"), s.formatMajor, s.formatMinor);

    s.input.size =
        Size(parsePositiveInt("anomaly.input_width", requireKey(md, "anomaly.input_width")),
             parsePositiveInt("anomaly.input_height", requireKey(md, "anomaly.input_height")));
    const std::string& order = requireKey(md, "anomaly.color_order");
    if (order != "RGB" && order != "BGR")
        CV_Error(Error::StsParseError,
                 "anomaly model: 'anomaly.color_order' must be RGB or BGR, got '" + order + "'");
    s.input.rgb = order == "RGB";
    const auto mean = parseNumbers("anomaly.mean", requireKey(md, "anomaly.mean"), 3);
    const auto stdv = parseNumbers("anomaly.std", requireKey(md, "anomaly.std"), 3);
    for (int c = 0; c < 3; ++c) {
        if (!(stdv[c] > 0))
            CV_Error(Error::StsParseError, "anomaly model: 'anomaly.std' values must be positive");
        s.input.mean[c] = mean[c];
        s.input.std[c] = stdv[c];
    }

    s.method = requireKey(md, "anomaly.method");
    if (s.method != "lgnf" && s.method != "dadf" && s.method != "lgfdr")
        CV_Error(Error::StsParseError, "anomaly model: 'anomaly.method' is '" + s.method +
                                           "', expected lgnf, dadf or lgfdr");
    s.modelSize = requireKey(md, "anomaly.model_size");
    s.backbone = requireKey(md, "anomaly.backbone");
    s.trainingSummary = requireKey(md, "anomaly.training.summary");
    s.imageThreshold =
        float(parseNumber("anomaly.threshold.image", requireKey(md, "anomaly.threshold.image")));
    s.pixelThreshold =
        float(parseNumber("anomaly.threshold.pixel", requireKey(md, "anomaly.threshold.pixel")));
    parseRange(md, "anomaly.normalization.image", s.imageNormMin, s.imageNormMax);
    parseRange(md, "anomaly.normalization.pixel", s.pixelNormMin, s.pixelNormMax);
    s.reduction = parseReduction(requireKey(md, "anomaly.score.reduction"));
    s.smoothingSigma =
        parseNumber("anomaly.map.smoothing_sigma", requireKey(md, "anomaly.map.smoothing_sigma"));
    if (s.smoothingSigma < 0 || s.smoothingSigma > 100)
        CV_Error(Error::StsParseError,
                 "anomaly model: 'anomaly.map.smoothing_sigma' must be in [0, 100]");
    return s;
}

}  // namespace anomaly
}  // namespace cv
