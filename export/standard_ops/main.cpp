// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_standard_onnx: a model file with its custom ops rewritten into standard ONNX opset 17,
// for ONNX Runtime, OpenVINO or TensorRT.
#include "command_line.hpp"
#include "standard_ops.hpp"
#include "tool_main.hpp"

#include <onnx_graph.hpp>

#include <iostream>
#include <string>

namespace {

int run(const anomaly_samples::CommandLine& cli)
{
    const std::string inPath = cli.get("in"), outPath = cli.get("out");
    const onnx::ModelProto original = anomaly_export::loadOnnxModel(inPath);
    // save() runs onnx::checker and writes to a temporary file renamed over outPath.
    anomaly_export::OnnxGraphBuilder(anomaly_export::toStandardOps(original)).save(outPath);
    std::cout << outPath << ": standard ONNX opset " << anomaly_export::kStandardOpset << ", "
              << original.graph().node_size() << " -> "
              << anomaly_export::loadOnnxModel(outPath).graph().node_size() << " nodes\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    anomaly_samples::CommandLine cli("anomaly_standard_onnx",
                                     "rewrites a model's custom ops into standard ONNX opset " +
                                         std::to_string(anomaly_export::kStandardOpset) +
                                         " (ONNX Runtime, OpenVINO, TensorRT)",
                                     {{"in", "", "model file to rewrite (.onnx)", true},
                                      {"out", "", "standard ONNX model to write (.onnx)", true}});
    return anomaly_samples::runTool(cli, argc, argv, run);
}
