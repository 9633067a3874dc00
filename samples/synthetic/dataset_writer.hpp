// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Writes the synthetic dataset to disk in the MVTec AD folder layout.
#ifndef ANOMALY_SYNTH_DATASET_WRITER_HPP
#define ANOMALY_SYNTH_DATASET_WRITER_HPP

#include "defect_painter.hpp"
#include "surface_texture.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace anomaly_synth {

struct DatasetOptions
{
    std::string root;  //!< category root: train/good, test/<type>, ground_truth/<type>
    Surface surface = Surface::BrushedMetal;
    uint64_t seed = 7;
    int trainGood = 200;
    int testGood = 40;
    int testPerDefect = 20;  //!< images per defect type
    int size = 256;
};

/** @brief Which image of the dataset a seed belongs to. */
enum class Split
{
    TrainGood,
    TestGood,
    TestDefect
};

/** @brief The seed of one image's surface (and, xor 1, of its defect). Every image has its own
seed, so images can be written in any order, in parallel, and still be the same bytes. */
uint64_t imageSeed(uint64_t datasetSeed, Split split, int defectIndex, int imageIndex);

/** @brief Name of image i without extension, in every folder: "000", "001", ...
Images are "<stem>.png", masks "<stem>_mask.png". */
std::string imageStem(int index);

/** @brief Writes the whole dataset (PNG, 8-bit BGR images, 8-bit 0/255 masks). Each file is
written to a temporary name and renamed. progress(done, total) is called from worker threads.
@throws std::runtime_error when a folder or file cannot be written. */
void writeDataset(const DatasetOptions& options,
                  const std::function<void(long done, long total)>& progress);

}  // namespace anomaly_synth

#endif  // ANOMALY_SYNTH_DATASET_WRITER_HPP
