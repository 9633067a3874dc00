// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "report_figures.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

namespace anomaly_evaluate {

namespace {

const int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kInk(40, 40, 40);
const cv::Scalar kGrid(225, 225, 225);
const cv::Scalar kMuted(130, 130, 130);
const cv::Scalar kPanel(38, 34, 32);

// Tableau 10 (BGR): distinct, print-friendly colours for the per-defect curves.
const cv::Scalar kPalette[] = {{180, 119, 31},  {14, 127, 255}, {44, 160, 44},   {40, 39, 214},
                               {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {34, 189, 188},
                               {207, 190, 23},  {127, 127, 127}};

std::string formatValue(const char* format, double value)
{
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

void putTextAt(cv::Mat& canvas, const std::string& text, cv::Point origin, double scale,
               const cv::Scalar& colour, int thickness = 1)
{
    cv::putText(canvas, text, origin, kFont, scale, colour, thickness, cv::LINE_AA);
}

cv::Size textSize(const std::string& text, double scale, int thickness = 1)
{
    int baseline = 0;
    return cv::getTextSize(text, kFont, scale, thickness, &baseline);
}

void putCentered(cv::Mat& canvas, const std::string& text, cv::Point center, double scale,
                 const cv::Scalar& colour, int thickness = 1)
{
    const cv::Size size = textSize(text, scale, thickness);
    putTextAt(canvas, text, cv::Point(center.x - size.width / 2, center.y + size.height / 2), scale,
              colour, thickness);
}

}  // namespace

std::vector<RocSeries> imageRocSeries(const std::vector<ScoredSample>& results)
{
    std::set<std::string> types;
    for (const ScoredSample& r : results)
        if (r.sample.isAnomalous)
            types.insert(r.sample.defectType);
    std::vector<std::string> groups(types.begin(), types.end());
    groups.push_back("overall");
    std::vector<RocSeries> series;
    for (const std::string& group : groups) {
        std::vector<float> scores;
        std::vector<int> labels;
        int positives = 0;
        for (const ScoredSample& r : results)
            if (!r.sample.isAnomalous || group == "overall" || r.sample.defectType == group) {
                scores.push_back(r.score);
                labels.push_back(r.sample.isAnomalous ? 1 : 0);
                positives += r.sample.isAnomalous ? 1 : 0;
            }
        if (positives == 0 || positives == int(labels.size()))
            continue;
        RocSeries s;
        s.name = group;
        std::vector<double> thresholds;
        cv::anomaly::imageROC(scores, labels, s.fpr, s.tpr, thresholds);
        s.auroc = cv::anomaly::imageAUROC(scores, labels);
        series.push_back(s);
    }
    return series;
}

cv::Mat drawRocFigure(const std::vector<RocSeries>& series, const std::string& title)
{
    const int width = 760, height = 760;
    const cv::Rect plot(100, 70, 620, 600);
    cv::Mat canvas(height, width, CV_8UC3, kWhite);
    auto toPixel = [&](double fpr, double tpr) {
        return cv::Point(plot.x + int(std::lround(fpr * plot.width)),
                         plot.y + plot.height - int(std::lround(tpr * plot.height)));
    };

    // Grid, ticks and tick labels every 0.2.
    for (int i = 0; i <= 5; ++i) {
        const double v = i / 5.0;
        const cv::Point gx = toPixel(v, 0), gy = toPixel(0, v);
        cv::line(canvas, cv::Point(gx.x, plot.y), gx, kGrid, 1, cv::LINE_AA);
        cv::line(canvas, gy, cv::Point(plot.x + plot.width, gy.y), kGrid, 1, cv::LINE_AA);
        const std::string label = formatValue("%.1f", v);
        putCentered(canvas, label, cv::Point(gx.x, plot.y + plot.height + 22), 0.5, kInk);
        const cv::Size ls = textSize(label, 0.5);
        putTextAt(canvas, label, cv::Point(plot.x - 12 - ls.width, gy.y + ls.height / 2), 0.5,
                  kInk);
    }
    // Chance diagonal, dashed.
    const int dashes = 40;
    for (int i = 0; i < dashes; i += 2)
        cv::line(canvas, toPixel(double(i) / dashes, double(i) / dashes),
                 toPixel(double(i + 1) / dashes, double(i + 1) / dashes), kMuted, 1, cv::LINE_AA);
    cv::rectangle(canvas, plot, kInk, 1, cv::LINE_AA);

    // Curves: per defect type first, overall (the last series) on top.
    for (size_t s = 0; s < series.size(); ++s) {
        const bool overall = s + 1 == series.size();
        const cv::Scalar colour = overall ? kInk : kPalette[s % 10];
        std::vector<cv::Point> points;
        for (size_t i = 0; i < series[s].fpr.size(); ++i)
            points.push_back(toPixel(series[s].fpr[i], series[s].tpr[i]));
        cv::polylines(canvas, points, false, colour, overall ? 3 : 2, cv::LINE_AA);
    }

    // Legend in the lower right of the plot, on a white box so the grid does not show through.
    // The AUROC column starts after the longest (shortened) name, so long defect names such as
    // "missing_material" do not run into it.
    const auto legendName = [](const std::string& name) {
        return name.size() > 18 ? name.substr(0, 17) + "." : name;
    };
    int nameWidth = 0;
    for (const auto& item : series)
        nameWidth = std::max(nameWidth, textSize(legendName(item.name), 0.5).width);
    const int aurocX = 52 + nameWidth + 14;
    const int rowHeight = 24, legendWidth = aurocX + textSize("AUROC 0.000", 0.5).width + 12;
    const int legendHeight = rowHeight * int(series.size()) + 14;
    const cv::Rect legend(plot.x + plot.width - legendWidth - 12,
                          plot.y + plot.height - legendHeight - 12, legendWidth, legendHeight);
    cv::rectangle(canvas, legend, kWhite, cv::FILLED);
    cv::rectangle(canvas, legend, kMuted, 1, cv::LINE_AA);
    for (size_t s = 0; s < series.size(); ++s) {
        const bool overall = s + 1 == series.size();
        const int y = legend.y + 19 + rowHeight * int(s);
        cv::line(canvas, cv::Point(legend.x + 12, y - 5), cv::Point(legend.x + 42, y - 5),
                 overall ? kInk : kPalette[s % 10], overall ? 3 : 2, cv::LINE_AA);
        putTextAt(canvas, legendName(series[s].name), cv::Point(legend.x + 52, y), 0.5, kInk);
        putTextAt(canvas, "AUROC " + formatValue("%.3f", series[s].auroc),
                  cv::Point(legend.x + aurocX, y), 0.5, kInk);
    }

    putCentered(canvas, title, cv::Point(plot.x + plot.width / 2, 35), 0.7, kInk, 2);
    putCentered(canvas, "False positive rate",
                cv::Point(plot.x + plot.width / 2, plot.y + plot.height + 55), 0.65, kInk);
    // The y label is drawn horizontally on a strip, then rotated into place.
    const std::string yLabel = "True positive rate";
    const cv::Size ys = textSize(yLabel, 0.65);
    cv::Mat strip(ys.height + 12, ys.width + 8, CV_8UC3, kWhite);
    putTextAt(strip, yLabel, cv::Point(4, ys.height + 4), 0.65, kInk);
    cv::rotate(strip, strip, cv::ROTATE_90_COUNTERCLOCKWISE);
    strip.copyTo(
        canvas(cv::Rect(28, plot.y + (plot.height - strip.rows) / 2, strip.cols, strip.rows)));
    return canvas;
}

namespace {

const int kTile = 240;
const int kCaptionHeight = 30;
const int kGap = 6;

cv::Mat tileOf(const cv::Mat& bgr, int interpolation = cv::INTER_AREA)
{
    cv::Mat tile;
    cv::resize(bgr, tile, cv::Size(kTile, kTile), 0, 0, interpolation);
    return tile;
}

// The image darkened, with a region painted in a colour and outlined: masks stay readable on top
// of the part they belong to.
cv::Mat paintMask(const cv::Mat& base, const cv::Mat& mask, const cv::Scalar& colour)
{
    cv::Mat out = base * 0.45;
    if (mask.empty() || cv::countNonZero(mask) == 0)
        return out;
    cv::Mat fill(out.size(), CV_8UC3, colour);
    cv::Mat blended;
    cv::addWeighted(out, 0.4, fill, 0.6, 0, blended);
    blended.copyTo(out, mask);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(out, contours, -1, colour, 2, cv::LINE_AA);
    return out;
}

cv::Mat heatOverlay(const cv::Mat& base, const cv::Mat& normalized)
{
    cv::Mat index, heat, out;
    normalized.convertTo(index, CV_8U, 255.0);
    cv::applyColorMap(index, heat, cv::COLORMAP_TURBO);
    cv::addWeighted(base, 0.5, heat, 0.5, 0, out);
    return out;
}

void labelTile(cv::Mat& tile, const std::string& text)
{
    const cv::Size size = textSize(text, 0.45);
    cv::rectangle(tile, cv::Rect(0, kTile - size.height - 12, size.width + 12, size.height + 12),
                  kPanel, cv::FILLED);
    putTextAt(tile, text, cv::Point(6, kTile - 6), 0.45, kWhite);
}

cv::Mat caseRow(const ScoredSample& r, const std::string& caption, const cv::Scalar& accent,
                const anomaly_samples::MapScale& scale)
{
    const cv::Mat image = anomaly_samples::toDisplayBgr(readImage(r.sample.imagePath));
    const cv::Mat base = tileOf(image);
    const cv::Mat normalized = scale.normalize(r.anomalyMap);
    cv::Mat normalizedTile;
    cv::resize(normalized, normalizedTile, base.size(), 0, 0, cv::INTER_LINEAR);
    const cv::Mat predicted =
        tileOf(cv::Mat(r.anomalyMap >= scale.pixelThreshold), cv::INTER_NEAREST);
    const cv::Mat truth = r.truth.empty() ? cv::Mat() : tileOf(r.truth, cv::INTER_NEAREST) > 127;

    std::vector<cv::Mat> tiles = {base.clone(), heatOverlay(base, normalizedTile),
                                  paintMask(base, predicted, cv::Scalar(60, 60, 230)),
                                  paintMask(base, truth, cv::Scalar(80, 200, 80))};
    double maxValue = 0;
    cv::minMaxLoc(r.anomalyMap, nullptr, &maxValue);
    labelTile(tiles[1], "max " + formatValue("%.3g", maxValue));
    labelTile(tiles[2], formatValue("%.1f%% of pixels", 100.0 * cv::countNonZero(predicted) /
                                                            double(predicted.total())));
    labelTile(tiles[3], r.truth.empty() ? std::string(r.sample.isAnomalous ? "no mask" : "good")
                                        : std::string("defect"));

    const int width = 4 * kTile + 3 * kGap;
    cv::Mat row(kCaptionHeight + kTile, width, CV_8UC3, kWhite);
    cv::rectangle(row, cv::Rect(0, 0, 6, kCaptionHeight - 4), accent, cv::FILLED);
    putTextAt(row, caption, cv::Point(14, kCaptionHeight - 10), 0.5, kInk);
    for (int c = 0; c < 4; ++c)
        tiles[size_t(c)].copyTo(row(cv::Rect(c * (kTile + kGap), kCaptionHeight, kTile, kTile)));
    return row;
}

cv::Mat sectionHeader(const std::string& text, const cv::Scalar& accent, int width)
{
    cv::Mat header(44, width, CV_8UC3, kWhite);
    cv::rectangle(header, cv::Rect(0, 8, width, 32), accent, cv::FILLED);
    putTextAt(header, text, cv::Point(12, 31), 0.65, kWhite, 2);
    return header;
}

}  // namespace

cv::Mat drawWorstCasesGrid(const std::vector<ScoredSample>& results, const WorstCases& worst,
                           const anomaly_samples::MapScale& scale, float imageThreshold)
{
    const int width = 4 * kTile + 3 * kGap;
    const cv::Scalar missColour(48, 48, 200), alarmColour(0, 140, 230), outlineColour(150, 90, 40);
    std::vector<cv::Mat> rows;

    cv::Mat columns(34, width, CV_8UC3, kPanel);
    const char* names[] = {"image", "anomaly map", "predicted mask", "ground truth"};
    for (int c = 0; c < 4; ++c)
        putCentered(columns, names[c], cv::Point(c * (kTile + kGap) + kTile / 2, 17), 0.55, kWhite);
    rows.push_back(columns);

    auto caption = [&](const ScoredSample& r, size_t rank, bool withOutline) {
        const std::filesystem::path p(r.sample.imagePath);
        return "#" + std::to_string(rank + 1) + "  " + r.sample.defectType + "/" +
               p.filename().string() + "   score " + formatValue("%.4g", r.score) +
               (withOutline ? "   in-image pixel AUROC " + formatValue("%.3f", r.inImagePixelAUROC)
                            : "   (image threshold " + formatValue("%.4g", imageThreshold) + ")");
    };
    auto section = [&](const std::string& title, const std::vector<size_t>& indices,
                       const cv::Scalar& accent, bool withOutline) {
        rows.push_back(sectionHeader(title, accent, width));
        if (indices.empty()) {
            cv::Mat none(40, width, CV_8UC3, kWhite);
            putTextAt(none, "none in this test set", cv::Point(14, 26), 0.5, kMuted);
            rows.push_back(none);
        }
        for (size_t i = 0; i < indices.size(); ++i) {
            rows.push_back(caseRow(results[indices[i]],
                                   caption(results[indices[i]], i, withOutline), accent, scale));
            rows.push_back(cv::Mat(kGap, width, CV_8UC3, kWhite));
        }
    };
    section("Worst misses: defective images with the lowest scores", worst.misses, missColour,
            false);
    section("Worst false alarms: good images with the highest scores", worst.falseAlarms,
            alarmColour, false);
    // Found but not outlined: the map marks the wrong part of a defective image.
    section("Worst outlines: defective images whose map separates the defect least", worst.outlines,
            outlineColour, true);

    cv::Mat grid;
    cv::vconcat(rows, grid);
    cv::Mat framed;
    cv::copyMakeBorder(grid, framed, 12, 12, 12, 12, cv::BORDER_CONSTANT, kWhite);
    return framed;
}

}  // namespace anomaly_evaluate
