// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Converts pretrained weights into the backbone ONNX file of doc/model-format.md (sections 2, 3).
#ifndef ANOMALY_EXPORT_BACKBONE_BACKBONE_CONVERTER_HPP
#define ANOMALY_EXPORT_BACKBONE_BACKBONE_CONVERTER_HPP

#include <array>
#include <cstdint>
#include <string>

namespace anomaly_backbone {

struct ConvertOptions
{
    std::string arch;
    std::string weightsPath;
    std::string featuresPath;    // output: feat_s4/s8/s16 extractor
    std::string classifierPath;  // optional output: full ImageNet classifier (logits)
    std::string source;          // backbone.source; defaults to "file:<weights file name>"
    int64_t inputSize = 256;
};

struct ConvertResult
{
    std::array<int64_t, 3> channels{};  // of feat_s4, feat_s8, feat_s16
    int64_t featureMacs = 0;            // per image at the features input size
    int64_t classifierMacs = 0;         // per image at the classifier's native size (0 if none)
};

/** Writes the features file (and the classifier file when asked). Throws std::runtime_error with
a one-line reason on bad input. */
ConvertResult convertBackbone(const ConvertOptions& options);

}  // namespace anomaly_backbone

#endif  // ANOMALY_EXPORT_BACKBONE_BACKBONE_CONVERTER_HPP
