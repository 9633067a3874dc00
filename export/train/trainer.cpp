// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "trainer.hpp"

#include <atomic_file.hpp>
#include <progress_bar.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>

namespace anomaly_train {

std::atomic<bool>& stopRequested()
{
    static std::atomic<bool> flag{false};
    return flag;
}

namespace {

void saveCheckpoint(const std::string& path, torch::nn::Module& module,
                    torch::optim::Adam& optimizer, int epochsDone, int stepInEpoch,
                    const std::string& signature)
{
    torch::serialize::OutputArchive archive, moduleArchive, optimizerArchive;
    module.save(moduleArchive);
    optimizer.save(optimizerArchive);
    archive.write("head", moduleArchive);
    archive.write("optimizer", optimizerArchive);
    archive.write("epochs_done", torch::tensor(int64_t(epochsDone)));
    archive.write("step_in_epoch", torch::tensor(int64_t(stepInEpoch)));
    archive.write("signature", c10::IValue(signature));
    auto gen = at::detail::getDefaultCPUGenerator();
    {
        std::lock_guard<std::mutex> lock(gen.mutex());
        archive.write("rng_state", gen.get_state());
    }
    anomaly_samples::writeFileAtomically(
        path, [&archive](const std::string& temporary) { archive.save_to(temporary); });
}

/** Restores a checkpoint; returns {epochs done, steps done in the next epoch}. */
std::pair<int, int> loadCheckpoint(const std::string& path, torch::nn::Module& module,
                                   torch::optim::Adam& optimizer, const std::string& signature)
{
    torch::serialize::InputArchive archive, moduleArchive, optimizerArchive;
    try {
        archive.load_from(path);
    } catch (const c10::Error&) {
        throw std::runtime_error("cannot read checkpoint " + path);
    }
    c10::IValue saved;
    archive.read("signature", saved);
    if (saved.toStringRef() != signature)
        throw std::runtime_error("checkpoint " + path + " belongs to another run (" +
                                 saved.toStringRef() + ")");
    archive.read("head", moduleArchive);
    archive.read("optimizer", optimizerArchive);
    module.load(moduleArchive);
    optimizer.load(optimizerArchive);
    torch::Tensor epochs, step, rng;
    archive.read("epochs_done", epochs);
    archive.read("step_in_epoch", step);
    archive.read("rng_state", rng);
    auto gen = at::detail::getDefaultCPUGenerator();
    {
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(rng);
    }
    return {int(epochs.item<int64_t>()), int(step.item<int64_t>())};
}

/** The epoch's image order depends on seed and epoch only, so a resumed run sees the same order. */
std::vector<int64_t> epochOrder(int64_t count, uint64_t seed, int epoch)
{
    std::vector<int64_t> order(static_cast<size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(seed * 1000003ULL + uint64_t(epoch));
    std::shuffle(order.begin(), order.end(), rng);
    return order;
}

}  // namespace

TrainResult trainHead(AnomalyHeadImpl& head, const std::vector<torch::Tensor>& features,
                      const TrainOptions& options)
{
    return trainModule(
        head, features,
        [&head](const std::vector<torch::Tensor>& batch) { return head.forward(batch).loss; },
        options);
}

TrainResult trainModule(torch::nn::Module& module, const std::vector<torch::Tensor>& data,
                        const BatchLoss& batchLoss, const TrainOptions& options)
{
    const int64_t count = data.front().size(0);
    if (count == 0)
        throw std::runtime_error("no training images");
    const int batch = int(std::min<int64_t>(options.batch, count));
    const int stepsPerEpoch = int((count + batch - 1) / batch);
    torch::optim::Adam optimizer(
        module.parameters(),
        torch::optim::AdamOptions(options.learningRate).weight_decay(options.weightDecay));
    int startEpoch = 0, startStep = 0;
    if (!options.checkpointPath.empty())
        anomaly_samples::removeTemporariesOfDeadWriters(options.checkpointPath);
    if (options.resume) {
        if (options.checkpointPath.empty() || access(options.checkpointPath.c_str(), R_OK) != 0)
            throw std::runtime_error("--resume given but no checkpoint at '" +
                                     options.checkpointPath + "'");
        std::tie(startEpoch, startStep) =
            loadCheckpoint(options.checkpointPath, module, optimizer, options.runSignature);
        std::fprintf(stderr, "resuming after epoch %d step %d\n", startEpoch, startStep);
    }
    module.train();
    TrainResult result;
    result.epochsDone = startEpoch;
    const auto start = std::chrono::steady_clock::now();
    const auto elapsedSeconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    std::optional<anomaly_samples::ProgressBar> bar;
    if (options.showProgress)
        bar.emplace(options.progressLabel, long(options.epochs - startEpoch) * long(count), "img");
    long seen = 0;
    for (int epoch = startEpoch; epoch < options.epochs; ++epoch) {
        const auto order = epochOrder(count, options.seed, epoch);
        double lossSum = 0;
        int steps = 0;
        for (int step = epoch == startEpoch ? startStep : 0; step < stepsPerEpoch; ++step) {
            const int64_t begin = int64_t(step) * batch;
            const int64_t end = std::min<int64_t>(begin + batch, count);
            const auto index = torch::tensor(
                std::vector<int64_t>(order.begin() + begin, order.begin() + end), torch::kLong);
            std::vector<torch::Tensor> inputs;
            for (const auto& f : data)
                inputs.push_back(f.index_select(0, index));
            optimizer.zero_grad();
            const auto lossTensor = batchLoss(inputs);
            lossTensor.backward();
            torch::nn::utils::clip_grad_norm_(module.parameters(), 5.0);
            optimizer.step();
            const double loss = lossTensor.item<double>();
            if (!std::isfinite(loss))
                throw std::runtime_error("training diverged (loss is not finite) at epoch " +
                                         std::to_string(epoch + 1));
            lossSum += loss;
            ++steps;
            seen += end - begin;
            if (bar) {
                char status[96];
                std::snprintf(status, sizeof status, "epoch %d/%d loss %.4f", epoch + 1,
                              options.epochs, lossSum / steps);
                bar->update(seen, status);
            }
            if (stopRequested().load()) {
                if (bar)
                    bar->finish();
                if (!options.checkpointPath.empty())
                    saveCheckpoint(options.checkpointPath, module, optimizer, epoch, step + 1,
                                   options.runSignature);
                result.stopped = true;
                result.seconds = elapsedSeconds();
                return result;
            }
        }
        result.epochsDone = epoch + 1;
        result.lastEpochLoss = steps > 0 ? lossSum / steps : 0;
        if (!options.checkpointPath.empty())
            saveCheckpoint(options.checkpointPath, module, optimizer, epoch + 1, 0,
                           options.runSignature);
    }
    if (bar)
        bar->finish();
    result.seconds = elapsedSeconds();
    module.eval();
    return result;
}

}  // namespace anomaly_train
