// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef OPENCV_ANOMALY_MODEL_IO_HPP
#define OPENCV_ANOMALY_MODEL_IO_HPP

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <map>
#include <string>
#include <vector>

namespace cv {
namespace anomaly {

//! @addtogroup anomaly
//! @{

/** @brief Format version this build writes and reads (doc/model-format.md). */
CV_EXPORTS_W int formatVersionMajor();
CV_EXPORTS_W int formatVersionMinor();

/** @brief The top-level facts of an ONNX file the runtime needs before handing it to cv::dnn. */
struct CV_EXPORTS OnnxModelHeader
{
    long long irVersion = 0;                        //!< ModelProto.ir_version
    std::map<std::string, long long> opsetImports;  //!< domain ("" = ai.onnx) -> version
    std::map<std::string, std::string> metadata;    //!< ModelProto.metadata_props
};

/** @brief Parses the header fields of serialized ONNX model bytes without any ONNX library.
@throws cv::Exception (StsParseError) on truncated or malformed protobuf data.
*/
CV_EXPORTS OnnxModelHeader parseOnnxModelHeader(const std::vector<uchar>& bytes);

/** @brief Reads a whole file into memory.
@throws cv::Exception naming the path when it is missing or unreadable. */
CV_EXPORTS std::vector<uchar> readFileBytes(const std::string& path);

/** @brief Where the network input comes from: the preprocessing settings of a model or backbone. */
struct CV_EXPORTS_W_SIMPLE InputSpec
{
    CV_WRAP InputSpec();     //!< size empty, rgb true, mean 0, std 1
    CV_PROP_RW Size size;    //!< network input width x height
    CV_PROP_RW bool rgb;     //!< network expects RGB (true) or BGR (false)
    CV_PROP_RW Scalar mean;  //!< per channel, network order, [0,1] image units
    CV_PROP_RW Scalar std;   //!< per channel, network order
};

/** @brief One image as the network sees it before normalisation (doc/model-format.md section 4):
resized to spec.size (INTER_AREA when it shrinks more than twofold both ways, else INTER_LINEAR),
3 channels in spec's colour order (grey replicated, alpha dropped), CV_32FC3 with the depth's full
scale as 1. makeInputBlob is this followed by (x - mean) / std per channel; tools that work on
images at the network's resolution (the training tool's synthetic defects) call it to see the
same pixels. spec.mean and spec.std are not used.
@throws cv::Exception as makeInputBlob does for the image. */
CV_EXPORTS_W void makeNetworkImage(InputArray image, const InputSpec& spec, OutputArray out);

/** @brief Converts images to the network's NCHW float32 input blob (doc/model-format.md section 4).
Images may have 1, 3 or 4 channels and depth CV_8U, CV_16U or CV_32F, and any size.
@throws cv::Exception for empty images or unsupported channel counts or depths. */
CV_EXPORTS_W void makeInputBlob(InputArrayOfArrays images, const InputSpec& spec, OutputArray blob);

/** @brief Registers the module's custom cv::dnn layers (doc/model-format.md section 6).
Safe to call from several threads and many times; LocalGlobalFlow calls it itself. Tools that read
models with cv::dnn directly call it first. */
CV_EXPORTS_W void registerCustomLayers();

/** @brief How readNetWithCustomLayers creates the convolution ops DepthwiseConv and PointwiseConv.
 */
enum ConvolutionLayers
{
    /** The module's own layers: the fastest with OpenCV's CPU backend, but they run only there. */
    CONVOLUTION_LAYERS_CUSTOM = 0,
    /** OpenCV's Convolution layer, which OpenCV's CUDA backend runs on the GPU. A DepthwiseConv
    with padding that differs between the two sides of an axis (TensorFlow "SAME" at stride 2)
    stays the module's layer, which OpenCV's 4.6 convolution cannot express. InvertedResidual
    blocks are read as their separate ops first, so that their convolutions can be OpenCV's.
    LocalGlobalFlow uses this when its backend is DNN_BACKEND_CUDA. */
    CONVOLUTION_LAYERS_BUILTIN = 1,
};

/** @brief cv::dnn::readNetFromONNX for models and backbones that use the module's custom ops.
Registers the custom layers first, and imports without the "missing dispatch map for domain"
warning that OpenCV 4.6's importer logs once per custom-domain node (dozens per model) although it
then imports each node correctly through the registered layer. convolutionLayers chooses between the
module's convolution layers and OpenCV's own (for the CUDA backend). For that, the global log level
is lowered from WARNING to ERROR while the importer runs; concurrent calls share one lowering, which
is undone when the last one ends. Errors still show, and any other log level is left alone.
@throws cv::Exception as readNetFromONNX does; also for the standard exceptions (such as
std::length_error) that readNetFromONNX 4.6 lets escape on some malformed files. */
CV_EXPORTS dnn::Net readNetWithCustomLayers(
    const std::vector<uchar>& onnxBytes,
    ConvolutionLayers convolutionLayers = CONVOLUTION_LAYERS_CUSTOM);
/** @overload Reads the file first (readFileBytes). */
CV_EXPORTS dnn::Net readNetWithCustomLayers(
    const String& onnxPath, ConvolutionLayers convolutionLayers = CONVOLUTION_LAYERS_CUSTOM);

//! @}

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_MODEL_IO_HPP
