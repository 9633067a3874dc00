// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "builtin_convolution.hpp"
#include "inverted_residual_expansion.hpp"
#include "precomp.hpp"

#include <exception>
#include <mutex>

namespace cv {
namespace anomaly {

namespace {

namespace logging = cv::utils::logging;

/** Lowers the log level from WARNING to ERROR for its lifetime; nested or concurrent instances
share one lowering (a counter under a mutex), so the level the user set is always restored. */
class ImporterWarningsMuted
{
public:
    ImporterWarningsMuted()
    {
        std::lock_guard<std::mutex> lock(mutex());
        if (users()++ == 0) {
            muted() = logging::getLogLevel() == logging::LOG_LEVEL_WARNING;
            if (muted())
                logging::setLogLevel(logging::LOG_LEVEL_ERROR);
        }
    }
    ~ImporterWarningsMuted()
    {
        std::lock_guard<std::mutex> lock(mutex());
        // Restore only if nobody changed the level meanwhile.
        if (--users() == 0 && muted() && logging::getLogLevel() == logging::LOG_LEVEL_ERROR)
            logging::setLogLevel(logging::LOG_LEVEL_WARNING);
    }
    ImporterWarningsMuted(const ImporterWarningsMuted&) = delete;
    ImporterWarningsMuted& operator=(const ImporterWarningsMuted&) = delete;

private:
    static std::mutex& mutex()
    {
        static std::mutex m;
        return m;
    }
    static int& users()
    {
        static int n = 0;
        return n;
    }
    static bool& muted()
    {
        static bool m = false;
        return m;
    }
};

}  // namespace

dnn::Net readNetWithCustomLayers(const std::vector<uchar>& onnxBytes,
                                 ConvolutionLayers convolutionLayers)
{
    registerCustomLayers();
    ImporterWarningsMuted muted;
    const BuiltinConvolutionScope convolutions(convolutionLayers == CONVOLUTION_LAYERS_BUILTIN);
    try {
        // OpenCV's own layers cannot run a whole block: give them its separate convolutions.
        if (convolutionLayers == CONVOLUTION_LAYERS_BUILTIN)
            return dnn::readNetFromONNX(expandInvertedResiduals(onnxBytes));
        return dnn::readNetFromONNX(onnxBytes);
    } catch (const cv::Exception&) {
        throw;
    } catch (const std::exception& e) {
        // OpenCV 4.6's importer lets standard exceptions escape on some malformed graphs (e.g.
        // std::length_error); callers are promised cv::Exception only.
        CV_Error(Error::StsParseError, std::string("cannot import the ONNX model: ") + e.what());
    }
}

dnn::Net readNetWithCustomLayers(const String& onnxPath, ConvolutionLayers convolutionLayers)
{
    return readNetWithCustomLayers(readFileBytes(onnxPath), convolutionLayers);
}

}  // namespace anomaly
}  // namespace cv
