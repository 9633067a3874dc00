// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// An image-level anomaly score from the global statistics of the stride-16 backbone features.
#ifndef ANOMALY_TRAIN_STATISTICS_SCORE_HPP
#define ANOMALY_TRAIN_STATISTICS_SCORE_HPP

#include "graph_emitter.hpp"

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace anomaly_train {

/** Per image and channel, the mean and the standard deviation over all positions:
[N, C, H, W] -> [N, 2C] (means first). The variance is E[x^2] - E[x]^2 clamped at 0, the form the
exported graph computes. */
torch::Tensor pooledMeanAndStd(const torch::Tensor& features);

/** Ledoit-Wolf shrinkage coefficient in [0, 1] of the covariance of samples [n, p] that are
already centred (Ledoit and Wolf 2004, as scikit-learn's ledoit_wolf_shrinkage computes it): the
weight of the scaled identity in (1 - s) * S + s * (trace(S) / p) * I. */
double ledoitWolfShrinkage(const torch::Tensor& centered);

/** The Ledoit-Wolf-shrunk covariance of centred samples [n, p] (double): (1 - s) S + s (trace(S) /
p) I with S = x^T x / n and s = ledoitWolfShrinkage(x), kept at least 1e-3 so that the result is
invertible with fewer samples than dimensions or nearly collinear ones; shared by the statistics
score and lgnf's positional whitening. */
struct ShrunkCovariance
{
    torch::Tensor covariance;  // [p, p]
    double shrinkage = 0;      // s
};
ShrunkCovariance ledoitWolfCovariance(const torch::Tensor& centered);

/** Why: the reconstruction maps see local deviations, but some defects change a whole part a
little (uneven texture or brightness, a wrong finish) and do not stand out anywhere. The Gaussian
distance of an image's feature statistics from those of the training images catches them: on
magnetic_tile it alone reaches image AUROC 0.94 where the maps reach 0.74-0.82 (doc/results.md).

score = scale * || W (v - mu) || + shift, v = pooledMeanAndStd(stride-16 features), where W^T W is
the inverse of the shrunk covariance of v over the training images (a Mahalanobis distance), and
scale and shift put the distance into the units of the map score (see scaleToMapScores). */
class StatisticsScoreImpl : public torch::nn::Module
{
public:
    explicit StatisticsScoreImpl(int64_t channels);

    /** Fits mu and W on the training images' stride-16 features [n, C, H, W]; returns the
    shrinkage used. */
    double fit(const torch::Tensor& features);
    /** Distances || W (v - mu) || of a batch, [N] (before the affine). */
    torch::Tensor distances(const torch::Tensor& features) const;
    /** score = scale * distance + shift. */
    void setAffine(double scale, double shift);
    /** setAffine() with matchMeanAndSpread() of the distances of held-out images' stride-16
    features [n, C, H, W] and their map scores. */
    void scaleToMapScores(const torch::Tensor& heldOutFeatures,
                          const std::vector<float>& mapScores);
    /** [N, 1, 1, 1] scores. */
    torch::Tensor forward(const torch::Tensor& features) const;
    /** The same in ONNX from the graph value features [N, C, H, W]; returns the score's name. */
    std::string exportGraph(GraphEmitter& g, const std::string& features) const;

private:
    torch::Tensor whiten_, whitenBias_;  // [2C, 2C], [2C]: W and -W mu
    torch::Tensor affine_;               // [2]: scale, shift
};
TORCH_MODULE(StatisticsScore);

/** scale and shift such that distances with the held-out sample's mean and standard deviation get
the held-out map scores' mean and standard deviation: both scores then call the same share of good
images NG at the same threshold, and the larger of the two (the runtime's image score) weighs them
alike. A sample without spread gets scale 1. */
std::pair<double, double> matchMeanAndSpread(const std::vector<float>& distances,
                                             const std::vector<float>& mapScores);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_STATISTICS_SCORE_HPP
