// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "tfjs_layers_model.hpp"
#include "file_bytes.hpp"

#include <opencv2/core.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace anomaly_backbone {
namespace {

/** OpenCV's JSON reader refuses `null`; Keras configs use it for unset fields, which the
converter never reads, so every null outside a string becomes 0. */
std::string replaceJsonNulls(const std::string& text)
{
    std::string out;
    out.reserve(text.size());
    bool inString = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (inString) {
            out += c;
            if (c == '\\' && i + 1 < text.size())
                out += text[++i];
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
            out += c;
        } else if (text.compare(i, 4, "null") == 0) {
            out += '0';
            i += 3;
        } else {
            out += c;
        }
    }
    return out;
}

std::vector<int64_t> readInts(const cv::FileNode& node)
{
    std::vector<int64_t> v;
    if (node.isSeq())
        for (const auto& item : node)
            v.push_back(static_cast<int64_t>(static_cast<double>(item)));
    return v;
}

std::string readString(const cv::FileNode& node, const std::string& fallback)
{
    return node.isString() ? static_cast<std::string>(node) : fallback;
}

KerasLayer readLayer(const cv::FileNode& node)
{
    KerasLayer layer;
    layer.className = readString(node["class_name"], "");
    const cv::FileNode config = node["config"];
    layer.name = readString(config["name"], "");
    layer.activation = readString(config["activation"], "linear");
    layer.padding = readString(config["padding"], "valid");
    layer.kernelSize = readInts(config["kernel_size"]);
    layer.strides = readInts(config["strides"]);
    layer.poolSize = readInts(config["pool_size"]);
    // Booleans arrive as integers from OpenCV's JSON reader.
    layer.useBias = !config["use_bias"].empty() && static_cast<int>(config["use_bias"]) != 0;
    if (config["epsilon"].isReal() || config["epsilon"].isInt())
        layer.epsilon = static_cast<double>(config["epsilon"]);
    if (config["alpha"].isReal() || config["alpha"].isInt())
        layer.alpha = static_cast<double>(config["alpha"]);
    if (config["max_value"].isReal() || config["max_value"].isInt())
        layer.maxValue = static_cast<double>(config["max_value"]);
    // inbound_nodes: [[[name, node_index, tensor_index, {}], ...]]
    for (const auto& call : node["inbound_nodes"])
        for (const auto& edge : call)
            if (edge.isSeq() && edge.size() > 0 && edge[0].isString())
                layer.inbound.push_back(static_cast<std::string>(edge[0]));
    return layer;
}

}  // namespace

TfjsLayersModel loadTfjsLayersModel(const std::string& path)
{
    std::string dir = path, jsonPath = path + "/model.json";
    const std::string suffix = "model.json";
    if (path.size() >= suffix.size() &&
        path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
        jsonPath = path;
        const size_t slash = path.find_last_of('/');
        dir = slash == std::string::npos ? "." : path.substr(0, slash);
    }
    TfjsLayersModel model;
    cv::FileStorage fs;
    try {
        fs.open(replaceJsonNulls(readWholeFile(jsonPath)),
                cv::FileStorage::READ | cv::FileStorage::MEMORY | cv::FileStorage::FORMAT_JSON);
    } catch (const cv::Exception& e) {
        throw std::runtime_error(jsonPath + ": not valid JSON (" + e.err + ")");
    }
    const cv::FileNode layers = fs["modelTopology"]["model_config"]["config"]["layers"];
    if (!layers.isSeq() || layers.size() == 0)
        throw std::runtime_error(jsonPath + ": no modelTopology.model_config.config.layers");
    for (const auto& node : layers)
        model.layers.push_back(readLayer(node));

    const cv::FileNode manifest = fs["weightsManifest"];
    if (!manifest.isSeq())
        throw std::runtime_error(jsonPath + ": no weightsManifest");
    for (const auto& group : manifest) {
        std::string data;
        for (const auto& shard : group["paths"])
            data += readWholeFile(dir + "/" + static_cast<std::string>(shard));
        size_t offset = 0;
        for (const auto& weight : group["weights"]) {
            const std::string name = readString(weight["name"], "");
            if (readString(weight["dtype"], "float32") != "float32")
                throw std::runtime_error(jsonPath + ": weight " + name + " is not float32");
            const std::vector<int64_t> shape = readInts(weight["shape"]);
            int64_t count = 1;
            for (int64_t d : shape)
                count *= d;
            const size_t bytes = size_t(count) * sizeof(float);
            if (offset + bytes > data.size())
                throw std::runtime_error(jsonPath + ": weight shards too short for " + name);
            torch::Tensor t = torch::empty(shape, torch::kFloat32);
            std::memcpy(t.data_ptr<float>(), data.data() + offset, bytes);  // little-endian host
            offset += bytes;
            model.weights[name] = t;
        }
        if (offset != data.size())
            throw std::runtime_error(jsonPath + ": weight shards longer than the manifest says");
    }
    return model;
}

torch::Tensor requireWeight(const TfjsLayersModel& model, const std::string& layer,
                            const std::string& suffix)
{
    auto it = model.weights.find(layer + "/" + suffix);
    if (it == model.weights.end())
        throw std::runtime_error("model.json lacks the weight '" + layer + "/" + suffix + "'");
    return it->second;
}

}  // namespace anomaly_backbone
