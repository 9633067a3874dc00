// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Metrics against values computed independently by modules/anomaly/misc/reference/
// metrics_reference.py (scikit-learn, MVTec AD's AUPRO algorithm, the MVTec LOCO sPRO definition)
// on the same deterministic inputs, committed as testdata/metrics/reference.json.
#include "test_precomp.hpp"

#include <cstdint>
#include <string>

namespace opencv_test {
namespace {

// Both sides compute in double from identical float32 inputs; the differences left are summation
// order (~1e-15 per term over ~30k pixels), far below this tolerance.
const double kTolerance = 1e-9;

// SplitMix64, exactly as in metrics_reference.py.
class SplitMix64
{
public:
    explicit SplitMix64(uint64_t seed) : state_(seed) {}
    uint64_t next()
    {
        state_ += 0x9E3779B97F4A7C15ull;
        uint64_t z = state_;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return next() % n; }

private:
    uint64_t state_;
};

// Every value is an integer times a power of two, exact in float32 on both sides.
const float kTwoPowMinus24 = 1.0f / 16777216.0f;

void imageCase(uint64_t seed, int count, bool quantized, std::vector<float>& scores,
               std::vector<int>& labels)
{
    SplitMix64 rng(seed);
    for (int i = 0; i < count; ++i) {
        int label;
        float score;
        if (quantized) {
            label = rng.below(3) == 0 ? 1 : 0;
            score = float(rng.below(64) + (label ? 16 : 0)) / 64.0f;
        } else {
            label = int(rng.below(2));
            score = float((rng.next() >> 41) + (label ? (1u << 22) : 0u)) * kTwoPowMinus24;
        }
        scores.push_back(score);
        labels.push_back(label);
    }
}

struct PixelCase
{
    std::vector<Mat> maps, masks;
    std::vector<Mat> defectMasks;  //!< one per rectangle, pixel value 1
    std::vector<int> defectImages;
};

PixelCase pixelCase(uint64_t seed, int count, bool quantized)
{
    SplitMix64 rng(seed);
    PixelCase c;
    for (int i = 0; i < count; ++i) {
        const int width = 32 + 4 * (i % 3), height = 24 + 4 * (i % 2);
        std::vector<Rect> rects;
        if (i % 4 != 0) {
            if (i == 1) {
                rects.push_back(Rect(2, 2, 3, 3));
                rects.push_back(Rect(5, 5, 3, 3));
            }
            const int defects = 1 + int(rng.below(3));
            for (int d = 0; d < defects; ++d) {
                const int x = int(rng.below(uint64_t(width))), y = int(rng.below(uint64_t(height)));
                const int w = 1 + int(rng.below(uint64_t(width / 3)));
                const int h = 1 + int(rng.below(uint64_t(height / 3)));
                rects.push_back(Rect(x, y, std::min(w, width - x), std::min(h, height - y)));
            }
        }
        Mat mask(height, width, CV_8U, Scalar(0));
        for (const Rect& r : rects) {
            mask(r).setTo(1);
            Mat defect(height, width, CV_8U, Scalar(0));
            defect(r).setTo(1);
            c.defectMasks.push_back(defect);
            c.defectImages.push_back(i);
        }
        Mat map(height, width, CV_32F);
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x) {
                const bool defective = mask.at<uchar>(y, x) != 0;
                if (quantized) {
                    const uint64_t level = defective ? 60 + rng.below(196) : rng.below(200);
                    map.at<float>(y, x) = float(level) / 256.0f;
                } else {
                    const uint64_t level = (rng.next() >> 41) + (defective ? (1u << 22) : 0u);
                    map.at<float>(y, x) = float(level) * kTwoPowMinus24;
                }
            }
        c.maps.push_back(map);
        c.masks.push_back(mask);
    }
    return c;
}

FileStorage openReference()
{
    const std::string path = std::string(ANOMALY_TEST_DATA_DIR) + "/metrics/reference.json";
    FileStorage fs(path, FileStorage::READ);
    if (!fs.isOpened())
        ADD_FAILURE() << "cannot open " << path;
    return fs;
}

class Anomaly_MetricsReference : public ::testing::TestWithParam<const char*>
{
};

TEST_P(Anomaly_MetricsReference, image_metrics_match_scikit_learn)
{
    const std::string name = GetParam();
    std::vector<float> scores;
    std::vector<int> labels;
    imageCase(name == "image_quantized" ? 11 : 12, name == "image_quantized" ? 300 : 500,
              name == "image_quantized", scores, labels);
    FileStorage fs = openReference();
    const FileNode ref = fs[name];
    ASSERT_FALSE(ref.empty()) << name;
    EXPECT_NEAR(imageAUROC(scores, labels), double(ref["auroc"]), kTolerance);
    EXPECT_NEAR(imageAP(scores, labels), double(ref["ap"]), kTolerance);
    const F1Max best = imageF1Max(scores, labels);
    EXPECT_NEAR(best.f1, double(ref["f1max"]), kTolerance);
    EXPECT_EQ(float(best.threshold), float(double(ref["f1max_threshold"])));
}

INSTANTIATE_TEST_CASE_P(Cases, Anomaly_MetricsReference,
                        ::testing::Values("image_quantized", "image_continuous"));

class Anomaly_PixelMetricsReference : public ::testing::TestWithParam<const char*>
{
};

TEST_P(Anomaly_PixelMetricsReference, pixel_metrics_match_the_reference_script)
{
    const std::string name = GetParam();
    const bool quantized = name == "pixel_quantized";
    const PixelCase c = pixelCase(quantized ? 21 : 22, 24, quantized);
    FileStorage fs = openReference();
    const FileNode ref = fs[name];
    ASSERT_FALSE(ref.empty()) << name;
    EXPECT_NEAR(pixelAUROC(c.maps, c.masks), double(ref["auroc"]), kTolerance);
    EXPECT_NEAR(pixelAP(c.maps, c.masks), double(ref["ap"]), kTolerance);
    const F1Max best = pixelF1Max(c.maps, c.masks);
    EXPECT_NEAR(best.f1, double(ref["f1max"]), kTolerance);
    EXPECT_EQ(float(best.threshold), float(double(ref["f1max_threshold"])));
    const PixelMetrics together = pixelMetrics(c.maps, c.masks);
    EXPECT_NEAR(together.auroc, double(ref["auroc"]), kTolerance);
    EXPECT_NEAR(together.ap, double(ref["ap"]), kTolerance);
    EXPECT_NEAR(together.f1Max.f1, double(ref["f1max"]), kTolerance);

    // Saturation as in the script: even defects relative 0.5 of their area, odd ones 10 pixels
    // absolute; expressed as LOCO defect configs selected by the mask's pixel value.
    std::vector<DefectConfig> configs(2);
    configs[0].pixelValue = 100;
    configs[0].saturationThreshold = 0.5;
    configs[0].relativeSaturation = true;
    configs[1].pixelValue = 200;
    configs[1].saturationThreshold = 10;
    configs[1].relativeSaturation = false;
    std::vector<double> saturation;
    for (size_t d = 0; d < c.defectMasks.size(); ++d)
        saturation.push_back(saturationArea(c.defectMasks[d] * (d % 2 == 0 ? 100 : 200), configs));

    for (const char* limit : {"0.05", "0.3", "1.0"}) {
        const double fprLimit = std::stod(limit);
        EXPECT_NEAR(pixelAUPRO(c.maps, c.masks, fprLimit), double(ref["aupro"][limit]), kTolerance)
            << "AUPRO limit " << limit;
        EXPECT_NEAR(pixelAUSPRO(c.maps, c.defectMasks, c.defectImages, saturation, fprLimit),
                    double(ref["auspro"][limit]), kTolerance)
            << "AUC-sPRO limit " << limit;
    }
}

INSTANTIATE_TEST_CASE_P(Cases, Anomaly_PixelMetricsReference,
                        ::testing::Values("pixel_quantized", "pixel_continuous"));

}  // namespace
}  // namespace opencv_test
