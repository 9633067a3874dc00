// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "metrics_ranking.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace cv {
namespace anomaly {
namespace detail {

uint32_t rankKey(float score)
{
    // Adding +0 turns -0 into +0, so the two zeros (equal as floats) share one key.
    score += 0.0f;
    uint32_t bits;
    std::memcpy(&bits, &score, sizeof bits);
    // IEEE order-preserving map (negative floats reversed, positive ones above them) ...
    const uint32_t ascending = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
    // ... then inverted so that the highest score gets the smallest key.
    return ~ascending;
}

float scoreOfRankKey(uint32_t key)
{
    const uint32_t ascending = ~key;
    const uint32_t bits = (ascending & 0x80000000u) ? (ascending & 0x7fffffffu) : ~ascending;
    float score;
    std::memcpy(&score, &bits, sizeof score);
    return score;
}

namespace {

// Three passes of 11, 11 and 10 bits: the 2048-entry histograms stay in L1 cache.
constexpr int kRadixBits = 11;
constexpr uint32_t kRadixSize = 1u << kRadixBits;
constexpr int kRadixPasses = 3;

template <bool WithPayload>
void radixSort(std::vector<uint32_t>& keys, std::vector<uint32_t>* payload)
{
    const size_t n = keys.size();
    if (n < 2)
        return;
    std::array<std::array<size_t, kRadixSize>, kRadixPasses> histograms{};
    for (uint32_t k : keys)
        for (int pass = 0; pass < kRadixPasses; ++pass)
            ++histograms[pass][(k >> (pass * kRadixBits)) & (kRadixSize - 1)];

    std::vector<uint32_t> keyBuffer(n), payloadBuffer(WithPayload ? n : 0);
    for (int pass = 0; pass < kRadixPasses; ++pass) {
        auto& histogram = histograms[pass];
        const int shift = pass * kRadixBits;
        // A pass where every key has the same digit would only copy the data: skip it.
        if (histogram[(keys[0] >> shift) & (kRadixSize - 1)] == n)
            continue;
        size_t offset = 0;
        for (auto& count : histogram) {
            const size_t c = count;
            count = offset;
            offset += c;
        }
        for (size_t i = 0; i < n; ++i) {
            const size_t dst = histogram[(keys[i] >> shift) & (kRadixSize - 1)]++;
            keyBuffer[dst] = keys[i];
            if constexpr (WithPayload)
                payloadBuffer[dst] = (*payload)[i];
        }
        keys.swap(keyBuffer);
        if constexpr (WithPayload)
            payload->swap(payloadBuffer);
    }
}

}  // namespace

void sortRankKeys(std::vector<uint32_t>& keys)
{
    radixSort<false>(keys, nullptr);
}

void sortRankKeys(std::vector<uint32_t>& keys, std::vector<uint32_t>& payload)
{
    CV_Assert(keys.size() == payload.size());
    radixSort<true>(keys, &payload);
}

void keepHighestRanks(std::vector<uint32_t>& keys, size_t count)
{
    if (count >= keys.size())
        return;
    // Find the 16-bit key prefix holding rank `count` with one histogram pass, then keep every key
    // up to the end of that prefix: a superset of what is needed, without a full selection.
    std::vector<size_t> histogram(1u << 16, 0);
    for (uint32_t k : keys)
        ++histogram[k >> 16];
    size_t seen = 0;
    uint32_t lastPrefix = 0;
    for (; lastPrefix < histogram.size(); ++lastPrefix) {
        seen += histogram[lastPrefix];
        if (seen > count)
            break;
    }
    const uint32_t bound = (lastPrefix << 16) | 0xffffu;
    keys.erase(std::remove_if(keys.begin(), keys.end(), [bound](uint32_t k) { return k > bound; }),
               keys.end());
}

void checkNoNaN(const Mat& map, size_t index)
{
    if (!checkRange(map, true, nullptr, -std::numeric_limits<double>::infinity(),
                    std::numeric_limits<double>::infinity())) {
        // checkRange also rejects infinities; only NaN is invalid here, so look closer.
        for (int y = 0; y < map.rows; ++y) {
            const float* row = map.ptr<float>(y);
            for (int x = 0; x < map.cols; ++x)
                if (std::isnan(row[x]))
                    CV_Error_(Error::StsBadArg,
                              ("anomaly metrics: map %zu holds NaN at (%d,%d)", index, x, y));
        }
    }
}

Mat checkedPixelPair(const Mat& map, const Mat& mask, size_t index, const char* what)
{
    if (map.empty() || map.type() != CV_32FC1)
        CV_Error_(Error::StsBadArg,
                  ("anomaly metrics: map %zu must be a non-empty CV_32FC1 matrix", index));
    if (mask.empty())
        return Mat::zeros(map.size(), CV_8UC1);
    if (mask.type() != CV_8UC1)
        CV_Error_(Error::StsBadArg, ("anomaly metrics: %s %zu must be CV_8UC1", what, index));
    if (mask.size() != map.size())
        CV_Error_(Error::StsBadArg, ("anomaly metrics: %s %zu is %dx%d but its map is %dx%d", what,
                                     index, mask.cols, mask.rows, map.cols, map.rows));
    return mask;
}

void collectPixelKeys(InputArrayOfArrays maps, InputArrayOfArrays masks,
                      std::vector<uint32_t>& positives, std::vector<uint32_t>& negatives)
{
    std::vector<Mat> mapList, maskList;
    maps.getMatVector(mapList);
    masks.getMatVector(maskList);
    if (mapList.empty())
        CV_Error(Error::StsBadArg, "anomaly metrics: no maps given");
    if (mapList.size() != maskList.size())
        CV_Error_(Error::StsBadArg,
                  ("anomaly metrics: %zu maps but %zu masks", mapList.size(), maskList.size()));
    size_t total = 0, defective = 0;
    for (size_t i = 0; i < mapList.size(); ++i) {
        maskList[i] = checkedPixelPair(mapList[i], maskList[i], i, "mask");
        checkNoNaN(mapList[i], i);
        total += mapList[i].total();
        defective += size_t(countNonZero(maskList[i]));
    }
    positives.clear();
    negatives.clear();
    positives.reserve(defective);
    negatives.reserve(total - defective);
    for (size_t i = 0; i < mapList.size(); ++i) {
        const Mat& map = mapList[i];
        const Mat& mask = maskList[i];
        for (int y = 0; y < map.rows; ++y) {
            const float* values = map.ptr<float>(y);
            const uchar* labels = mask.ptr<uchar>(y);
            for (int x = 0; x < map.cols; ++x)
                (labels[x] ? positives : negatives).push_back(rankKey(values[x]));
        }
    }
}

void collectImageKeys(const std::vector<float>& scores, const std::vector<int>& labels,
                      std::vector<uint32_t>& positives, std::vector<uint32_t>& negatives)
{
    if (scores.size() != labels.size())
        CV_Error_(Error::StsBadArg,
                  ("anomaly metrics: %zu scores but %zu labels", scores.size(), labels.size()));
    positives.clear();
    negatives.clear();
    for (size_t i = 0; i < scores.size(); ++i) {
        if (std::isnan(scores[i]))
            CV_Error_(Error::StsBadArg, ("anomaly metrics: score %zu is NaN", i));
        (labels[i] ? positives : negatives).push_back(rankKey(scores[i]));
    }
}

}  // namespace detail
}  // namespace anomaly
}  // namespace cv
