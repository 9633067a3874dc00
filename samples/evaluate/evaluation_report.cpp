// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "evaluation_report.hpp"
#include "csv_field.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>

namespace anomaly_evaluate {

namespace {

using anomaly_samples::csvField;

const double kNaN = std::numeric_limits<double>::quiet_NaN();
// MVTec LOCO reports AUC-sPRO integrated up to this false positive rate.
const double kSproLimit = 0.05;

cv::anomaly::F1Max missingF1()
{
    cv::anomaly::F1Max f;
    f.f1 = f.threshold = f.precision = f.recall = kNaN;
    return f;
}

double meanInImagePixelAUROC(const std::vector<const ScoredSample*>& group)
{
    double sum = 0;
    int images = 0;
    for (const ScoredSample* r : group) {
        const double auroc = r->inImagePixelAUROC;
        if (!std::isnan(auroc)) {
            sum += auroc;
            ++images;
        }
    }
    return images > 0 ? sum / images : kNaN;
}

double pixelAUROCAgainstGoodImages(const std::vector<const ScoredSample*>& group)
{
    // A defective image enters as one row of its defect pixels' values under an all-defect mask,
    // so its good pixels take no part; a good image enters whole with its own mask (empty or all
    // zero: all good).
    std::vector<cv::Mat> maps, masks;
    for (const ScoredSample* r : group) {
        if (!r->sample.isAnomalous) {
            maps.push_back(r->anomalyMap);
            masks.push_back(r->truth);
            continue;
        }
        const int defectPixels = r->truth.empty() ? 0 : cv::countNonZero(r->truth);
        if (defectPixels == 0)
            continue;
        cv::Mat values(1, defectPixels, CV_32F);
        int k = 0;
        for (int y = 0; y < r->truth.rows; ++y)
            for (int x = 0; x < r->truth.cols; ++x)
                if (r->truth.at<uchar>(y, x))
                    values.at<float>(k++) = r->anomalyMap.at<float>(y, x);
        maps.push_back(values);
        masks.push_back(cv::Mat(values.size(), CV_8U, cv::Scalar(255)));
    }
    return cv::anomaly::pixelAUROC(maps, masks);
}

GroupMetrics metricsOf(const std::string& name, const std::vector<const ScoredSample*>& group,
                       const cv::anomaly::TestSet& testSet)
{
    GroupMetrics m;
    m.name = name;
    std::vector<float> scores;
    std::vector<int> labels;
    for (const ScoredSample* r : group) {
        scores.push_back(r->score);
        labels.push_back(r->sample.isAnomalous ? 1 : 0);
        (r->sample.isAnomalous ? m.anomalousImages : m.goodImages)++;
    }
    const bool bothClasses = m.goodImages > 0 && m.anomalousImages > 0;
    m.imageAUROC = bothClasses ? cv::anomaly::imageAUROC(scores, labels) : kNaN;
    m.imageAP = bothClasses ? cv::anomaly::imageAP(scores, labels) : kNaN;
    m.imageF1 = bothClasses ? cv::anomaly::imageF1Max(scores, labels) : missingF1();

    m.pixelAUROC = m.pixelAP = m.aupro = m.inImagePixelAUROC = m.auspro = kNaN;
    m.pixelAUROCAgainstGoodImages = kNaN;
    m.pixelF1 = missingF1();
    if (!testSet.hasMasks || !bothClasses)
        return m;
    std::vector<cv::Mat> maps, masks;
    for (const ScoredSample* r : group) {
        maps.push_back(r->anomalyMap);
        masks.push_back(r->truth);
    }
    // Pixel metrics need defect pixels: MVTec AD's few empty defect masks could leave none.
    bool anyDefectPixel = false;
    for (const cv::Mat& mask : masks)
        anyDefectPixel = anyDefectPixel || (!mask.empty() && cv::countNonZero(mask) > 0);
    if (!anyDefectPixel)
        return m;
    const cv::anomaly::PixelMetrics pixel = cv::anomaly::pixelMetrics(maps, masks);
    m.pixelAUROC = pixel.auroc;
    m.pixelAP = pixel.ap;
    m.pixelF1 = pixel.f1Max;
    m.aupro = cv::anomaly::pixelAUPRO(maps, masks, 0.3);
    m.inImagePixelAUROC = meanInImagePixelAUROC(group);
    m.pixelAUROCAgainstGoodImages = pixelAUROCAgainstGoodImages(group);

    if (testSet.layout == cv::anomaly::DATASET_MVTEC_LOCO) {
        std::vector<cv::Mat> defectMasks;
        std::vector<int> defectImages;
        std::vector<double> saturation;
        for (size_t i = 0; i < group.size(); ++i)
            for (const cv::Mat& raw : group[i]->defects) {
                if (cv::countNonZero(raw) == 0)
                    continue;  // an empty defect mask has no area to overlap
                saturation.push_back(cv::anomaly::saturationArea(raw, testSet.defectConfigs));
                cv::Mat binary;
                cv::anomaly::binarizeMask(raw, binary);
                defectMasks.push_back(binary);
                defectImages.push_back(int(i));
            }
        if (!defectMasks.empty())
            m.auspro =
                cv::anomaly::pixelAUSPRO(maps, defectMasks, defectImages, saturation, kSproLimit);
    }
    return m;
}

std::string number(double value, const char* format = "%.4f")
{
    if (std::isnan(value))
        return "-";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, value);
    return buffer;
}

std::string jsonNumber(double value)
{
    if (!std::isfinite(value))
        return "null";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.9g", value);
    return buffer;
}

std::string jsonString(const std::string& text)
{
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\')
            out += std::string("\\") + c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
            out += buffer;
        } else
            out += c;
    }
    return out + "\"";
}

double percentile(std::vector<double> values, double q)
{
    // Linear interpolation between closest ranks (numpy's default).
    std::sort(values.begin(), values.end());
    const double position = q * double(values.size() - 1);
    const size_t below = size_t(std::floor(position));
    const size_t above = std::min(below + 1, values.size() - 1);
    return values[below] + (values[above] - values[below]) * (position - double(below));
}

}  // namespace

std::vector<GroupMetrics> computeGroupMetrics(const std::vector<ScoredSample>& results,
                                              const cv::anomaly::TestSet& testSet)
{
    std::set<std::string> defectTypes;
    std::vector<const ScoredSample*> good, all;
    for (const ScoredSample& r : results) {
        all.push_back(&r);
        if (r.sample.isAnomalous)
            defectTypes.insert(r.sample.defectType);
        else
            good.push_back(&r);
    }
    std::vector<GroupMetrics> groups;
    for (const std::string& type : defectTypes) {
        std::vector<const ScoredSample*> group = good;
        for (const ScoredSample& r : results)
            if (r.sample.defectType == type)
                group.push_back(&r);
        groups.push_back(metricsOf(type, group, testSet));
    }
    groups.push_back(metricsOf("overall", all, testSet));
    return groups;
}

LatencySummary summarizeLatency(const std::vector<ScoredSample>& results)
{
    std::vector<double> ms;
    for (const ScoredSample& r : results)
        ms.push_back(r.latencyMs);
    LatencySummary s;
    if (ms.empty())
        return s;
    s.median = percentile(ms, 0.5);
    s.p95 = percentile(ms, 0.95);
    s.mean = std::accumulate(ms.begin(), ms.end(), 0.0) / double(ms.size());
    return s;
}

std::string formatTable(const std::vector<GroupMetrics>& groups, const LatencySummary& latency)
{
    const bool withSpro = std::any_of(groups.begin(), groups.end(),
                                      [](const GroupMetrics& g) { return !std::isnan(g.auspro); });
    size_t nameWidth = 12;
    for (const GroupMetrics& g : groups)
        nameWidth = std::max(nameWidth, g.name.size());
    std::ostringstream out;
    char line[512];
    std::snprintf(line, sizeof line, "%-*s %5s %5s %9s %9s %7s %8s %8s %8s %9s %9s%s\n",
                  int(nameWidth), "defect", "good", "NG", "img AUROC", "pix AUROC", "AUPRO",
                  "pix AP", "img F1", "pix F1", "vs good", "in-image", withSpro ? "  sPRO.05" : "");
    out << line;
    const std::string rule(nameWidth + 93 + (withSpro ? 9 : 0), '-');
    out << rule << "\n";
    for (const GroupMetrics& g : groups) {
        if (g.name == "overall")
            out << rule << "\n";
        std::snprintf(
            line, sizeof line, "%-*s %5d %5d %9s %9s %7s %8s %8s %8s %9s %9s", int(nameWidth),
            g.name.c_str(), g.goodImages, g.anomalousImages, number(g.imageAUROC).c_str(),
            number(g.pixelAUROC).c_str(), number(g.aupro).c_str(), number(g.pixelAP).c_str(),
            number(g.imageF1.f1).c_str(), number(g.pixelF1.f1).c_str(),
            number(g.pixelAUROCAgainstGoodImages).c_str(), number(g.inImagePixelAUROC).c_str());
        out << line;
        if (withSpro) {
            std::snprintf(line, sizeof line, "  %7s", number(g.auspro).c_str());
            out << line;
        }
        out << "\n";
    }
    std::snprintf(line, sizeof line,
                  "latency per image: median %.1f ms, p95 %.1f ms, mean %.1f ms\n", latency.median,
                  latency.p95, latency.mean);
    out << line;
    return out.str();
}

std::string formatJson(const RunDescription& run, const std::vector<GroupMetrics>& groups,
                       const LatencySummary& latency, const std::vector<ScoredSample>& results,
                       const WorstCases& worst)
{
    std::ostringstream out;
    out << "{\n  \"model\": " << jsonString(run.model) << ",\n  \"data\": " << jsonString(run.data)
        << ",\n  \"layout\": " << jsonString(run.layout)
        << ",\n  \"method\": " << jsonString(run.method)
        << ",\n  \"backbone\": " << jsonString(run.backbone)
        << ",\n  \"image_threshold\": " << jsonNumber(run.imageThreshold)
        << ",\n  \"pixel_threshold\": " << jsonNumber(run.pixelThreshold)
        << ",\n  \"threads\": " << run.threads << ",\n  \"images\": " << results.size()
        << ",\n  \"latency_ms\": {\"median\": " << jsonNumber(latency.median)
        << ", \"p95\": " << jsonNumber(latency.p95) << ", \"mean\": " << jsonNumber(latency.mean)
        << "},\n  \"groups\": [\n";
    for (size_t i = 0; i < groups.size(); ++i) {
        const GroupMetrics& g = groups[i];
        out << "    {\"name\": " << jsonString(g.name) << ", \"good_images\": " << g.goodImages
            << ", \"anomalous_images\": " << g.anomalousImages
            << ", \"image_auroc\": " << jsonNumber(g.imageAUROC)
            << ", \"image_ap\": " << jsonNumber(g.imageAP)
            << ", \"image_f1max\": " << jsonNumber(g.imageF1.f1)
            << ", \"image_f1max_threshold\": " << jsonNumber(g.imageF1.threshold)
            << ", \"pixel_auroc\": " << jsonNumber(g.pixelAUROC)
            << ", \"aupro_0.3\": " << jsonNumber(g.aupro)
            << ", \"pixel_ap\": " << jsonNumber(g.pixelAP)
            << ", \"pixel_f1max\": " << jsonNumber(g.pixelF1.f1)
            << ", \"pixel_f1max_threshold\": " << jsonNumber(g.pixelF1.threshold)
            << ", \"pixel_auroc_vs_good_images\": " << jsonNumber(g.pixelAUROCAgainstGoodImages)
            << ", \"in_image_pixel_auroc\": " << jsonNumber(g.inImagePixelAUROC)
            << ", \"auc_spro_0.05\": " << jsonNumber(g.auspro) << "}"
            << (i + 1 < groups.size() ? "," : "") << "\n";
    }
    auto list = [&](const char* key, const std::vector<size_t>& indices, bool withOutline) {
        out << "  " << jsonString(key) << ": [";
        for (size_t i = 0; i < indices.size(); ++i) {
            const ScoredSample& r = results[indices[i]];
            out << (i ? ", " : "") << "{\"image\": " << jsonString(r.sample.imagePath)
                << ", \"defect\": " << jsonString(r.sample.defectType)
                << ", \"score\": " << jsonNumber(r.score);
            if (withOutline)
                out << ", \"in_image_pixel_auroc\": " << jsonNumber(r.inImagePixelAUROC);
            out << "}";
        }
        out << "],\n";
    };
    out << "  ],\n";
    list("worst_misses", worst.misses, false);
    list("worst_false_alarms", worst.falseAlarms, false);
    list("worst_outlines", worst.outlines, true);
    out << "  \"scores\": [";
    for (size_t i = 0; i < results.size(); ++i)
        out << (i ? ",\n    " : "\n    ")
            << "{\"image\": " << jsonString(results[i].sample.imagePath)
            << ", \"defect\": " << jsonString(results[i].sample.defectType)
            << ", \"score\": " << jsonNumber(results[i].score)
            << ", \"latency_ms\": " << jsonNumber(results[i].latencyMs) << "}";
    out << "\n  ]\n}\n";
    return out.str();
}

std::string formatCsv(const std::vector<GroupMetrics>& groups)
{
    auto field = [](double v) { return std::isnan(v) ? std::string() : jsonNumber(v); };
    std::ostringstream out;
    out << "defect,good_images,anomalous_images,image_auroc,image_ap,image_f1max,"
           "image_f1max_threshold,pixel_auroc,aupro_0.3,pixel_ap,pixel_f1max,"
           "pixel_f1max_threshold,pixel_auroc_vs_good_images,in_image_pixel_auroc,auc_spro_0.05\n";
    for (const GroupMetrics& g : groups)
        out << csvField(g.name) << "," << g.goodImages << "," << g.anomalousImages << ","
            << field(g.imageAUROC) << "," << field(g.imageAP) << "," << field(g.imageF1.f1) << ","
            << field(g.imageF1.threshold) << "," << field(g.pixelAUROC) << "," << field(g.aupro)
            << "," << field(g.pixelAP) << "," << field(g.pixelF1.f1) << ","
            << field(g.pixelF1.threshold) << "," << field(g.pixelAUROCAgainstGoodImages) << ","
            << field(g.inImagePixelAUROC) << "," << field(g.auspro) << "\n";
    return out.str();
}

WorstCases findWorstCases(const std::vector<ScoredSample>& results, size_t count)
{
    WorstCases worst;
    for (size_t i = 0; i < results.size(); ++i) {
        (results[i].sample.isAnomalous ? worst.misses : worst.falseAlarms).push_back(i);
        if (!std::isnan(results[i].inImagePixelAUROC))
            worst.outlines.push_back(i);
    }
    // Stable sorts keep name order among equal values, so reports are reproducible.
    std::stable_sort(worst.misses.begin(), worst.misses.end(),
                     [&](size_t a, size_t b) { return results[a].score < results[b].score; });
    std::stable_sort(worst.falseAlarms.begin(), worst.falseAlarms.end(),
                     [&](size_t a, size_t b) { return results[a].score > results[b].score; });
    std::stable_sort(worst.outlines.begin(), worst.outlines.end(), [&](size_t a, size_t b) {
        return results[a].inImagePixelAUROC < results[b].inImagePixelAUROC;
    });
    for (std::vector<size_t>* list : {&worst.misses, &worst.falseAlarms, &worst.outlines})
        list->resize(std::min(count, list->size()));
    return worst;
}

}  // namespace anomaly_evaluate
