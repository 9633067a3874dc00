// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Ranking machinery shared by the metrics: scores become 32-bit "rank keys" whose unsigned order is
// the reverse of the score order, so an ascending radix sort lists samples from the highest score
// down and equal scores get equal keys (exact tie grouping without comparing floats).
#ifndef OPENCV_ANOMALY_SRC_METRICS_RANKING_HPP
#define OPENCV_ANOMALY_SRC_METRICS_RANKING_HPP

#include <opencv2/core.hpp>

#include <cstdint>
#include <vector>

namespace cv {
namespace anomaly {
namespace detail {

/** Rank key of a finite or infinite float: a smaller key means a larger score; -0 and +0 share a
key. The caller rejects NaN. */
uint32_t rankKey(float score);

/** The score a rank key was made from. */
float scoreOfRankKey(uint32_t key);

/** Sorts keys ascending (= scores descending) with an LSD radix sort. */
void sortRankKeys(std::vector<uint32_t>& keys);

/** Sorts keys ascending and applies the same permutation to payload (same length). */
void sortRankKeys(std::vector<uint32_t>& keys, std::vector<uint32_t>& payload);

/** Keeps only the keys a walk from the highest score down must visit until it has passed `count`
samples: every key not larger than the key of rank `count` (0-based), ties included. Order is not
preserved. Does nothing when count >= keys.size(). */
void keepHighestRanks(std::vector<uint32_t>& keys, size_t count);

/** Validates one map/mask pair of the pixel metrics and returns the mask to use (a zero mask of the
map's size when the given one is empty). `what` names the argument in messages. */
Mat checkedPixelPair(const Mat& map, const Mat& mask, size_t index, const char* what);

/** Throws when a map holds a NaN. */
void checkNoNaN(const Mat& map, size_t index);

/** Rank keys of the pixels of all maps, split by mask into positives (mask > 0) and negatives. */
void collectPixelKeys(InputArrayOfArrays maps, InputArrayOfArrays masks,
                      std::vector<uint32_t>& positives, std::vector<uint32_t>& negatives);

/** Rank keys of image scores split by label into positives (label != 0) and negatives. */
void collectImageKeys(const std::vector<float>& scores, const std::vector<int>& labels,
                      std::vector<uint32_t>& positives, std::vector<uint32_t>& negatives);

/** Walks the thresholds of a binary problem from the highest score down. positives and negatives
must be sorted with sortRankKeys(). After each group of equal scores, calls
visit(truePositives, falsePositives, key) with cumulative counts; returning false stops the walk. */
template <typename Visitor>
void walkThresholds(const std::vector<uint32_t>& positives, const std::vector<uint32_t>& negatives,
                    Visitor&& visit)
{
    size_t p = 0, n = 0;
    while (p < positives.size() || n < negatives.size()) {
        uint32_t key;
        if (n == negatives.size() || (p < positives.size() && positives[p] <= negatives[n]))
            key = positives[p];
        else
            key = negatives[n];
        while (p < positives.size() && positives[p] == key)
            ++p;
        while (n < negatives.size() && negatives[n] == key)
            ++n;
        if (!visit(p, n, key))
            return;
    }
}

}  // namespace detail
}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_SRC_METRICS_RANKING_HPP
