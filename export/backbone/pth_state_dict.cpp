// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "pth_state_dict.hpp"
#include "file_bytes.hpp"

#include <torch/serialize.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace anomaly_backbone {
namespace {

/** Collects tensors of (possibly nested) dicts; nested keys are joined with '.'. */
void addDictEntries(const c10::IValue& value, const std::string& prefix, StateDict& out)
{
    if (value.isTensor()) {
        out[prefix] = value.toTensor();
        return;
    }
    if (!value.isGenericDict())
        return;
    for (const auto& entry : value.toGenericDict()) {
        if (entry.key().isString()) {
            const std::string& key = entry.key().toStringRef();
            addDictEntries(entry.value(), prefix.empty() ? key : prefix + "." + key, out);
        }
    }
}

/** Unwraps {"state_dict": {...}} / {"model": {...}} checkpoints and DataParallel's "module."
 * prefix. */
StateDict normalizeKeys(const StateDict& raw)
{
    for (const std::string wrapper : {"state_dict.", "model."}) {
        bool allWrapped = !raw.empty();
        for (const auto& entry : raw)
            allWrapped = allWrapped && entry.first.rfind(wrapper, 0) == 0;
        if (allWrapped) {
            StateDict inner;
            for (const auto& entry : raw)
                inner[entry.first.substr(wrapper.size())] = entry.second;
            return normalizeKeys(inner);
        }
    }
    StateDict out;
    for (const auto& entry : raw) {
        const bool dataParallel = entry.first.rfind("module.", 0) == 0;
        out[dataParallel ? entry.first.substr(7) : entry.first] = entry.second;
    }
    return out;
}

}  // namespace

StateDict loadPthStateDict(const std::string& path)
{
    const std::string bytes = readWholeFile(path);
    StateDict raw;
    try {
        if (bytes.size() >= 4 && bytes.compare(0, 4, "PK\x03\x04") == 0) {
            const c10::IValue value =
                torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
            addDictEntries(value, "", raw);
        } else {
            raw = readLegacyTorchSave(bytes);
        }
    } catch (const c10::Error& e) {
        throw std::runtime_error(path + ": not a readable torch.save file (" +
                                 std::string(e.what_without_backtrace()) + ")");
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
    if (raw.empty())
        throw std::runtime_error(path + ": holds no tensors (expected a state dict)");
    return normalizeKeys(raw);
}

torch::Tensor requireTensor(const StateDict& dict, const std::string& key)
{
    auto it = dict.find(key);
    if (it == dict.end())
        throw std::runtime_error("weights lack the tensor '" + key + "'");
    return it->second.to(torch::kFloat32).contiguous();
}

}  // namespace anomaly_backbone
