// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The training loop: shuffled mini-batches of cached features, Adam, progress bar, atomic
// resumable checkpoints, and a stop request honoured at the next step boundary.
#ifndef ANOMALY_TRAIN_TRAINER_HPP
#define ANOMALY_TRAIN_TRAINER_HPP

#include "heads.hpp"

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace anomaly_train {

struct TrainOptions
{
    int epochs = 10;
    int batch = 8;
    uint64_t seed = 0;
    double learningRate = 1e-3;
    double weightDecay = 1e-5;
    std::string checkpointPath;  // empty: no checkpoints
    bool resume = false;
    /** Identifies preset, size, backbone and data; a checkpoint of another run is refused. */
    std::string runSignature;
    bool showProgress = true;
    std::string progressLabel = "train";
};

struct TrainResult
{
    bool stopped = false;  // a stop was requested; a checkpoint was written (if a path was set)
    int epochsDone = 0;
    double lastEpochLoss = 0;
    double seconds = 0;
};

/** Set from a signal handler; checked after every optimisation step. */
std::atomic<bool>& stopRequested();

/** The loss of one mini-batch: the rows of every training tensor that the step draws. */
using BatchLoss = std::function<torch::Tensor(const std::vector<torch::Tensor>& batch)>;

/** Trains `module`'s parameters on mini-batches drawn from `data` (tensors of one leading size)
with the options' loop, checkpoints and stop handling. A checkpoint holds `module` only. */
TrainResult trainModule(torch::nn::Module& module, const std::vector<torch::Tensor>& data,
                        const BatchLoss& loss, const TrainOptions& options);

/** trainModule on the head's own loss over the three feature maps. */
TrainResult trainHead(AnomalyHeadImpl& head, const std::vector<torch::Tensor>& features,
                      const TrainOptions& options);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_TRAINER_HPP
