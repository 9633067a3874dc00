// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "inspection_overlay.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace anomaly_samples {
namespace {

const cv::Scalar kBannerBackground(38, 34, 32);
// Enlarged parts are at most this many display widths tall (see OverlayRenderer::render).
constexpr double kMaxHeightPerWidth = 2.0;
const cv::Scalar kTextColour(240, 240, 240);
const cv::Scalar kDimTextColour(180, 180, 180);
const cv::Scalar kOkColour(80, 160, 46);  // green
const cv::Scalar kNgColour(48, 48, 216);  // red
const int kFont = cv::FONT_HERSHEY_SIMPLEX;

std::string formatScore(double value)
{
    char text[32];
    std::snprintf(text, sizeof(text), "%.2f", value);
    return text;
}

// Blend weight of the heatmap: none over clearly normal surface (normalised value below 0.2),
// rising to half near and above the threshold (0.5), so the part keeps its own look where nothing
// is wrong and the defect stays visible under its colour.
cv::Mat heatAlpha(const cv::Mat& normalized)
{
    cv::Mat t = (normalized - 0.2f) / 0.35f;
    cv::min(cv::max(t, 0.0), 1.0, t);
    cv::Mat smooth = t.mul(t).mul(3.0 - 2.0 * t);  // smoothstep
    return 0.5f * smooth;
}

cv::Mat blendHeatmap(const cv::Mat& base, const cv::Mat& normalized)
{
    cv::Mat index;
    normalized.convertTo(index, CV_8U, 255.0);
    cv::Mat heat;
    cv::applyColorMap(index, heat, cv::COLORMAP_TURBO);
    const cv::Mat alpha = heatAlpha(normalized);
    cv::Mat out(base.size(), CV_8UC3);
    for (int y = 0; y < base.rows; ++y) {
        const cv::Vec3b* b = base.ptr<cv::Vec3b>(y);
        const cv::Vec3b* h = heat.ptr<cv::Vec3b>(y);
        const float* a = alpha.ptr<float>(y);
        cv::Vec3b* o = out.ptr<cv::Vec3b>(y);
        for (int x = 0; x < base.cols; ++x)
            for (int c = 0; c < 3; ++c)
                o[x][c] = cv::saturate_cast<uchar>(b[x][c] * (1.f - a[x]) + h[x][c] * a[x]);
    }
    return out;
}

// Text with its baseline at `origin`, in a font scaled to a cap height in pixels.
void putLabel(cv::Mat& image, const std::string& text, cv::Point origin, double capHeight,
              const cv::Scalar& colour, int thickness = 1)
{
    const double fontScale = capHeight / 22.0;  // Hershey simplex caps are ~22 units at scale 1
    cv::putText(image, text, origin, kFont, fontScale, colour, thickness, cv::LINE_AA);
}

int labelWidth(const std::string& text, double capHeight, int thickness = 1)
{
    int baseline = 0;
    return cv::getTextSize(text, kFont, capHeight / 22.0, thickness, &baseline).width;
}

// Shortens text from the left ("...tail") until it fits a width.
std::string fitLeft(const std::string& text, double capHeight, int width)
{
    if (labelWidth(text, capHeight) <= width)
        return text;
    for (size_t cut = 1; cut < text.size(); ++cut) {
        const std::string shorter = "..." + text.substr(cut);
        if (labelWidth(shorter, capHeight) <= width)
            return shorter;
    }
    return std::string();
}

void drawLegend(cv::Mat& banner, cv::Rect area, double capHeight)
{
    cv::Mat ramp(1, area.width, CV_8U);
    for (int x = 0; x < area.width; ++x)
        ramp.at<uchar>(0, x) = cv::saturate_cast<uchar>(255.0 * x / std::max(1, area.width - 1));
    cv::Mat colours;
    cv::applyColorMap(ramp, colours, cv::COLORMAP_TURBO);
    const int barHeight = std::max(6, area.height / 3);
    const cv::Rect bar(area.x, area.y, area.width, barHeight);
    cv::resize(colours, banner(bar), bar.size(), 0, 0, cv::INTER_NEAREST);
    cv::rectangle(banner, bar, kDimTextColour, 1);
    const int middle = area.x + area.width / 2;
    cv::line(banner, cv::Point(middle, bar.y - 2), cv::Point(middle, bar.br().y + 2), kTextColour,
             2);
    const int textY = bar.br().y + static_cast<int>(capHeight * 1.5);
    putLabel(banner, "normal", cv::Point(area.x, textY), capHeight, kDimTextColour);
    const std::string threshold = "threshold";
    putLabel(banner, threshold, cv::Point(middle - labelWidth(threshold, capHeight) / 2, textY),
             capHeight, kTextColour);
    const std::string defect = "defect";
    putLabel(banner, defect, cv::Point(area.br().x - labelWidth(defect, capHeight), textY),
             capHeight, kDimTextColour);
}

cv::Mat drawBanner(int width, const cv::anomaly::AnomalyResult& result, bool hasStatisticsScore,
                   const std::string& caption)
{
    const int height = std::max(56, static_cast<int>(std::lround(width * 0.10)));
    cv::Mat banner(height, width, CV_8UC3, kBannerBackground);
    const int pad = std::max(6, height / 8);

    // Status pill.
    const std::string status = result.isAnomalous ? "NG" : "OK";
    const double statusCap = height * 0.36;
    const int pillWidth = labelWidth(status, statusCap, 3) + 2 * pad + pad;
    const cv::Rect pill(pad, pad, pillWidth, height - 2 * pad);
    cv::rectangle(banner, pill, result.isAnomalous ? kNgColour : kOkColour, cv::FILLED,
                  cv::LINE_AA);
    putLabel(banner, status,
             cv::Point(pill.x + (pill.width - labelWidth(status, statusCap, 3)) / 2,
                       pill.y + (pill.height + static_cast<int>(statusCap)) / 2),
             statusCap, cv::Scalar(255, 255, 255), 3);

    // Score and regions, two lines.
    const double lineCap = height * 0.19;
    const int textX = pill.br().x + 2 * pad;
    const bool legendFits = width >= 520;
    const int legendWidth = legendFits ? std::min(260, width / 3) : 0;
    const int textRight = legendFits ? width - legendWidth - 3 * pad : width - pad;
    const std::string scoreLine =
        "score " + formatScore(result.normalizedScore) + "   threshold " + formatScore(0.5);
    putLabel(banner, fitLeft(scoreLine, lineCap, textRight - textX),
             cv::Point(textX, pad + static_cast<int>(lineCap * 1.6)), lineCap, kTextColour, 1);
    const std::string regionText = verdictDetail(result, hasStatisticsScore);
    // The region count always shows; a long caption (a file path) loses its start instead.
    const double detailCap = lineCap * 0.9;
    std::string detail = regionText;
    if (!caption.empty()) {
        const std::string separator = "   ";
        const int room = textRight - textX - labelWidth(regionText + separator, detailCap);
        const std::string fitted = fitLeft(caption, detailCap, room);
        if (!fitted.empty())
            detail += separator + fitted;
    }
    putLabel(banner, detail, cv::Point(textX, height - pad - static_cast<int>(lineCap * 0.4)),
             detailCap, kDimTextColour, 1);

    if (legendFits)
        drawLegend(banner,
                   cv::Rect(width - legendWidth - 2 * pad, pad + static_cast<int>(lineCap * 0.5),
                            legendWidth, height - 2 * pad - static_cast<int>(lineCap * 0.5)),
                   lineCap * 0.75);
    return banner;
}

void drawRegions(cv::Mat& canvas, const std::vector<cv::anomaly::DefectRegion>& regions,
                 double scale)
{
    const int line = std::max(2, static_cast<int>(std::lround(canvas.cols / 400.0)));
    // Number the strongest regions first; beyond a dozen labels the picture gets unreadable.
    std::vector<size_t> order(regions.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return regions[a].peakScore > regions[b].peakScore; });
    std::vector<std::vector<cv::Point>> outlines;
    for (const cv::anomaly::DefectRegion& region : regions) {
        std::vector<cv::Point> scaled;
        for (const cv::Point& p : region.contour)
            scaled.emplace_back(static_cast<int>(std::lround((p.x + 0.5) * scale - 0.5)),
                                static_cast<int>(std::lround((p.y + 0.5) * scale - 0.5)));
        outlines.push_back(std::move(scaled));
    }
    cv::drawContours(canvas, outlines, -1, cv::Scalar(0, 0, 0), line + 2, cv::LINE_AA);
    cv::drawContours(canvas, outlines, -1, cv::Scalar(255, 255, 255), line, cv::LINE_AA);

    const double cap = std::max(9.0, canvas.cols / 55.0);
    for (size_t rank = 0; rank < order.size() && rank < 12; ++rank) {
        const cv::Rect box = regions[order[rank]].box;
        const std::string number = std::to_string(rank + 1);
        const int w = labelWidth(number, cap, 2) + 8;
        const int h = static_cast<int>(cap) + 8;
        int x = static_cast<int>(box.x * scale) - w / 2;
        int y = static_cast<int>(box.y * scale) - h - 2;
        x = std::min(std::max(0, x), canvas.cols - w);
        y = std::min(std::max(0, y), canvas.rows - h);
        cv::rectangle(canvas, cv::Rect(x, y, w, h), cv::Scalar(255, 255, 255), cv::FILLED);
        putLabel(canvas, number, cv::Point(x + 4, y + h - 4), cap, cv::Scalar(0, 0, 0), 2);
    }
}

}  // namespace

MapScale MapScale::fromModel(const cv::anomaly::LocalGlobalFlow& model)
{
    MapScale scale;
    scale.pixelThreshold = model.getPixelThreshold();
    scale.hasStatisticsScore = model.hasStatisticsScore();
    const std::string range = model.getMetadata("anomaly.normalization.pixel");
    std::istringstream in(range);
    char comma = 0;
    if (!(in >> scale.normMin >> comma >> scale.normMax) || comma != ',' ||
        !(scale.normMax > scale.normMin))
        throw std::runtime_error("model has a malformed anomaly.normalization.pixel '" + range +
                                 "'");
    return scale;
}

cv::Mat MapScale::normalize(const cv::Mat& rawMap) const
{
    CV_Assert(rawMap.type() == CV_32F);
    cv::Mat out = (rawMap - pixelThreshold) / (normMax - normMin) + 0.5;
    cv::min(cv::max(out, 0.0), 1.0, out);
    return out;
}

std::string verdictDetail(const cv::anomaly::AnomalyResult& result, bool hasStatisticsScore)
{
    const size_t regions = result.regions.size();
    const std::string regionText = regions == 0   ? std::string("no defect region")
                                   : regions == 1 ? std::string("1 defect region")
                                                  : std::to_string(regions) + " defect regions";
    // The image score is the larger of the map score and the statistics score.
    const bool statisticsDecided =
        hasStatisticsScore && result.isAnomalous && result.statisticsScore >= result.score;
    // Short enough for the banner next to the legend at the minimum display width.
    if (!statisticsDecided)
        return regionText;
    return regions == 0 ? std::string("unusual overall (statistics score)")
                        : "unusual overall, " + regionText;
}

cv::Mat toDisplayBgr(const cv::Mat& image)
{
    cv::Mat eight;
    switch (image.depth()) {
        case CV_8U:
            eight = image;
            break;
        case CV_16U:
            image.convertTo(eight, CV_8U, 255.0 / 65535.0);
            break;
        case CV_32F:
            image.convertTo(eight, CV_8U, 255.0);
            break;
        default:
            throw std::runtime_error("cannot display an image of depth " +
                                     std::to_string(image.depth()));
    }
    cv::Mat bgr;
    switch (eight.channels()) {
        case 1:
            cv::cvtColor(eight, bgr, cv::COLOR_GRAY2BGR);
            break;
        case 3:
            bgr = eight.clone();
            break;
        case 4:
            cv::cvtColor(eight, bgr, cv::COLOR_BGRA2BGR);
            break;
        default:
            throw std::runtime_error("cannot display an image with " +
                                     std::to_string(eight.channels()) + " channels");
    }
    return bgr;
}

OverlayRenderer::OverlayRenderer(MapScale scale, int minDisplayWidth)
    : scale_(scale), minDisplayWidth_(minDisplayWidth)
{
}

cv::Mat OverlayRenderer::render(const cv::Mat& image, const cv::anomaly::AnomalyResult& result,
                                const std::string& caption) const
{
    cv::Mat base = toDisplayBgr(image);
    // Small parts are enlarged to the display width so that outlines and the banner stay
    // readable, but never taller than kMaxHeightPerWidth display widths: a tall, narrow strip
    // (60x600) would otherwise become a 640x6400 picture. Such a part is centred instead.
    const double widen = static_cast<double>(minDisplayWidth_) / base.cols;
    const double heightLimit = kMaxHeightPerWidth * minDisplayWidth_ / base.rows;
    const double scale = std::max(1.0, std::min(widen, heightLimit));
    if (scale > 1.0)
        cv::resize(base, base, cv::Size(), scale, scale, cv::INTER_CUBIC);

    cv::Mat canvas = base;
    if (!result.anomalyMap.empty()) {
        cv::Mat normalized = scale_.normalize(result.anomalyMap);
        cv::resize(normalized, normalized, base.size(), 0, 0, cv::INTER_LINEAR);
        canvas = blendHeatmap(base, normalized);
    }
    drawRegions(canvas, result.regions, scale);
    if (canvas.cols < minDisplayWidth_) {
        const int margin = minDisplayWidth_ - canvas.cols;
        cv::copyMakeBorder(canvas, canvas, 0, 0, margin / 2, margin - margin / 2,
                           cv::BORDER_CONSTANT, kBannerBackground);
    }

    cv::Mat out;
    cv::vconcat(drawBanner(canvas.cols, result, scale_.hasStatisticsScore, caption), canvas, out);
    return out;
}

}  // namespace anomaly_samples
