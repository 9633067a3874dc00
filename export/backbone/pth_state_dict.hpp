// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Reading PyTorch state dicts (.pth) written by torch.save, in both container formats.
#ifndef ANOMALY_EXPORT_BACKBONE_PTH_STATE_DICT_HPP
#define ANOMALY_EXPORT_BACKBONE_PTH_STATE_DICT_HPP

#include <torch/torch.h>

#include <map>
#include <string>

namespace anomaly_backbone {

/** Parameter and buffer tensors by their state-dict key ("layer1.0.conv1.weight", ...). */
using StateDict = std::map<std::string, torch::Tensor>;

/** Reads a state dict saved by torch.save: the zip container (PyTorch >= 1.6, read with
torch::pickle_load) or the legacy pickle-plus-raw-storages container (read by
readLegacyTorchSave). A dict wrapping the state dict under "state_dict" or "model" is unwrapped
and a "module." prefix (DataParallel) is stripped. Throws std::runtime_error naming the path. */
StateDict loadPthStateDict(const std::string& path);

/** Parses the legacy (pre-1.6, non-zip) torch.save format from the file's bytes. */
StateDict readLegacyTorchSave(const std::string& bytes);

/** The tensor under key, as contiguous float32; throws naming the key when absent. */
torch::Tensor requireTensor(const StateDict& dict, const std::string& key);

}  // namespace anomaly_backbone

#endif  // ANOMALY_EXPORT_BACKBONE_PTH_STATE_DICT_HPP
