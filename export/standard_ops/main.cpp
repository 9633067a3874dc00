// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_standard_onnx: a model file with its custom ops rewritten into standard ONNX opset 17,
// for ONNX Runtime, OpenVINO or TensorRT.
#include "standard_ops.hpp"

#include <onnx_graph.hpp>

#include <iostream>
#include <string>

namespace {

void printUsage()
{
    std::cerr << "usage: anomaly_standard_onnx --in <model.onnx> --out <model_std.onnx>\n";
}

}  // namespace

int main(int argc, char** argv)
{
    std::string inPath, outPath;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string arg = argv[i];
            if (arg == "-h" || arg == "--help") {
                printUsage();
                return 0;
            }
            if (i + 1 >= argc)
                throw std::runtime_error("missing value after " + arg);
            const std::string value = argv[++i];
            if (arg == "--in")
                inPath = value;
            else if (arg == "--out")
                outPath = value;
            else
                throw std::runtime_error("unknown option " + arg + " (see --help)");
        }
        if (inPath.empty() || outPath.empty())
            throw std::runtime_error("--in and --out are required (see --help)");
        const onnx::ModelProto original = anomaly_export::loadOnnxModel(inPath);
        // save() runs onnx::checker and writes to a temporary file renamed over outPath.
        anomaly_export::OnnxGraphBuilder(anomaly_export::toStandardOps(original)).save(outPath);
        std::cout << outPath << ": standard ONNX opset " << anomaly_export::kStandardOpset << ", "
                  << original.graph().node_size() << " -> "
                  << anomaly_export::loadOnnxModel(outPath).graph().node_size() << " nodes\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "anomaly_standard_onnx: " << e.what() << "\n";
        return 1;
    }
}
