// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef OPENCV_ANOMALY_LOCAL_GLOBAL_FLOW_HPP
#define OPENCV_ANOMALY_LOCAL_GLOBAL_FLOW_HPP

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

//! @addtogroup anomaly
//! @{

/** @brief One connected defect region of the binary mask. */
struct CV_EXPORTS_W_SIMPLE DefectRegion
{
    CV_WRAP DefectRegion();                 //!< numbers 0, flags false, everything else empty
    CV_PROP_RW Rect box;                    //!< bounding box in input image pixels
    CV_PROP_RW std::vector<Point> contour;  //!< outer contour in input image pixels
    CV_PROP_RW double area;                 //!< number of mask pixels in the region
    CV_PROP_RW float peakScore;             //!< largest raw anomaly value inside the region
    CV_PROP_RW Point peakLocation;          //!< where that value is
};

/** @brief Everything LocalGlobalFlow::detect() says about one image. */
struct CV_EXPORTS_W_SIMPLE AnomalyResult
{
    CV_WRAP AnomalyResult();  //!< numbers 0, flags false, everything else empty
    /** raw image score (model units): the score of anomalyMap (of the model's output `score_map`
    instead when it has one, format 1.10), or the larger of that and statisticsScore when the
    model has a statistics score */
    CV_PROP_RW float score;
    CV_PROP_RW float normalizedScore;  //!< in [0,1]; the image threshold maps to 0.5
    CV_PROP_RW bool isAnomalous;       //!< NG label: score >= image threshold
    CV_PROP_RW Mat anomalyMap;         //!< CV_32F raw per-pixel values at the input's own size
    CV_PROP_RW Mat mask;               //!< CV_8U, 255 where anomalyMap >= pixel threshold
    CV_PROP_RW std::vector<DefectRegion> regions;  //!< connected regions of the mask
    CV_PROP_RW Mat
        localMap;  //!< CV_32F local-branch map at input size; empty if the model has none
    CV_PROP_RW Mat
        globalMap;  //!< CV_32F global-branch map at input size; empty if the model has none
    CV_PROP_RW float localScore;   //!< image score of localMap (0 when absent)
    CV_PROP_RW float globalScore;  //!< image score of globalMap (0 when absent)
    /** image-level score from the global statistics of the backbone features (model format 1.1
    output `statistics_score`, already in the units of the map score); 0 when the model has none */
    CV_PROP_RW float statisticsScore;
};

/** @brief Unsupervised anomaly detector: local-global normality learning with a discrepancy
normalizing flow, run entirely through cv::dnn.

A model file (see doc/model-format.md) holds the pretrained CNN backbone, the dual-branch
local/global transformer and the scoring head, plus thresholds and preprocessing settings.
Models are written by the `anomaly_train` tool from images of good parts only.

@code
    Ptr<anomaly::LocalGlobalFlow> detector = anomaly::LocalGlobalFlow::create("part.onnx");
    anomaly::AnomalyResult r;
    detector->detect(imread("part.png"), r);
    std::cout << (r.isAnomalous ? "NG " : "OK ") << r.normalizedScore << std::endl;
@endcode

Thread safety: one instance must not be used from two threads at once (cv::dnn::Net is not
thread-safe). Create one instance per thread; instances share nothing mutable, and each gives
exactly the results a single-threaded run gives.
*/
class CV_EXPORTS_W LocalGlobalFlow : public Algorithm
{
public:
    /** @brief Loads a model file.
    @param model path to the .onnx model written by the export tool.
    @param backend cv::dnn::Backend to request (cv::dnn::DNN_BACKEND_DEFAULT: OpenCV's own).
    @param target cv::dnn::Target to request. When the CUDA backend is requested but OpenCV has no
    CUDA target, the detector falls back to the CPU with a logged warning; getBackend() and
    getTarget() then report what is actually used.
    @throws cv::Exception when the file is missing, unreadable, not an ONNX model, from another
    major format version, or lacks a required metadata key (the message names the problem).
    */
    CV_WRAP static Ptr<LocalGlobalFlow> create(const String& model,
                                               int backend = dnn::DNN_BACKEND_DEFAULT,
                                               int target = dnn::DNN_TARGET_CPU);

    /** @brief Loads a model from memory (the bytes of a .onnx model file). */
    CV_WRAP static Ptr<LocalGlobalFlow> createFromBuffer(const std::vector<uchar>& modelBytes,
                                                         int backend = dnn::DNN_BACKEND_DEFAULT,
                                                         int target = dnn::DNN_TARGET_CPU);

    /** @brief Scores one image.
    @param image 1, 3 (BGR) or 4 (BGRA) channels; CV_8U, CV_16U or CV_32F (values in [0,1]); any
    size.
    @param result filled with the score, label, maps at the image's own size, mask and regions.
    */
    CV_WRAP virtual void detect(InputArray image, CV_OUT AnomalyResult& result) = 0;

    /** @brief Scores many images, running the network on batches of up to getBatchSize() images.
    Results are identical to calling detect() on each image. */
    CV_WRAP virtual void detectBatch(InputArrayOfArrays images,
                                     CV_OUT std::vector<AnomalyResult>& results) = 0;

    /** @brief Raw image score at or above which an image is NG (initially from the model). */
    CV_WRAP virtual float getImageThreshold() const = 0;
    CV_WRAP virtual void setImageThreshold(float threshold) = 0;
    /** @brief Raw map value at or above which a pixel is in the mask (initially from the model). */
    CV_WRAP virtual float getPixelThreshold() const = 0;
    CV_WRAP virtual void setPixelThreshold(float threshold) = 0;

    /** @brief Gaussian smoothing sigma in model-input pixels applied to maps before scoring.
    The model's value is what its thresholds were calibrated with; 0 disables smoothing. */
    CV_WRAP virtual double getSmoothingSigma() const = 0;
    CV_WRAP virtual void setSmoothingSigma(double sigma) = 0;

    /** @brief Regions smaller than this many input-image pixels are dropped (default 0). */
    CV_WRAP virtual double getMinRegionArea() const = 0;
    CV_WRAP virtual void setMinRegionArea(double area) = 0;

    /** @brief Largest number of images sent through the network at once by detectBatch() (default
     * 8). */
    CV_WRAP virtual int getBatchSize() const = 0;
    CV_WRAP virtual void setBatchSize(int batchSize) = 0;

    /** @brief Requests a cv::dnn backend; falls back to the CPU (with a warning) when unavailable.
     * With DNN_BACKEND_CUDA the network is read again with OpenCV's own convolution layers in
     * place of the module's CPU ones (CONVOLUTION_LAYERS_BUILTIN), so that they run on the GPU.
     */
    CV_WRAP virtual void setPreferableBackend(int backendId) = 0;
    /** @brief Requests a cv::dnn target; falls back to the CPU (with a warning) when unavailable.
     */
    CV_WRAP virtual void setPreferableTarget(int targetId) = 0;
    /** @brief The cv::dnn backend actually in use (after any fallback). */
    CV_WRAP virtual int getBackend() const = 0;
    /** @brief The cv::dnn target actually in use (after any fallback). */
    CV_WRAP virtual int getTarget() const = 0;

    /** @brief Network input size (width x height) the model was trained at. */
    CV_WRAP virtual Size getInputSize() const = 0;
    /** @brief Method preset: "lgnf", "dadf" or "lgfdr". */
    CV_WRAP virtual String getMethod() const = 0;
    /** @brief Model size preset: "lite" or "paper". */
    CV_WRAP virtual String getModelSize() const = 0;
    /** @brief Backbone name, e.g. "efficientnet_lite0". */
    CV_WRAP virtual String getBackbone() const = 0;
    /** @brief One-line JSON summary of how the model was trained. */
    CV_WRAP virtual String getTrainingSummary() const = 0;
    /** @brief The model file's format version, "major.minor". */
    CV_WRAP virtual String getFormatVersion() const = 0;
    /** @brief True when the model outputs separate local and global maps. */
    CV_WRAP virtual bool hasLocalGlobalMaps() const = 0;
    /** @brief True when the model outputs an image-level statistics score (format 1.1), which
    AnomalyResult::score then takes into account. */
    CV_WRAP virtual bool hasStatisticsScore() const = 0;
    /** @brief Any metadata value of the model file; empty when the key is absent. */
    CV_WRAP virtual String getMetadata(const String& key) const = 0;
};

//! @}

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_LOCAL_GLOBAL_FLOW_HPP
