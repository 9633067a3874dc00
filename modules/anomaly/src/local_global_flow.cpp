// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "precomp.hpp"

#include "model_settings.hpp"
#include "onnx_graph_check.hpp"
#include "postprocess.hpp"

namespace cv {
namespace anomaly {

namespace {

const char* const kAnomalyMapOutput = "anomaly_map";
const char* const kLocalMapOutput = "local_map";
const char* const kGlobalMapOutput = "global_map";
const char* const kStatisticsScoreOutput = "statistics_score";
const char* const kScoreMapOutput = "score_map";

bool cudaAvailable()
{
    return !dnn::getAvailableTargets(dnn::DNN_BACKEND_CUDA).empty();
}

// As for input images: a NaN map would compare false with every threshold and pass as OK.
void requireFiniteMap(const Mat& map)
{
    if (!checkRange(map))
        CV_Error(Error::StsError,
                 "anomaly: the model produced NaN or infinite map values (corrupt weights?)");
}

bool isCudaTarget(int target)
{
    return target == dnn::DNN_TARGET_CUDA || target == dnn::DNN_TARGET_CUDA_FP16;
}

class LocalGlobalFlowImpl CV_FINAL : public LocalGlobalFlow
{
public:
    LocalGlobalFlowImpl(const std::vector<uchar>& bytes, const std::string& origin, int backend,
                        int target)
        : settings_(parseModelSettings(parseOnnxModelHeader(bytes))),
          modelBytes_(bytes),
          origin_(origin)
    {
        checkOnnxGraphStructure(bytes, settings_.input.size);
        backend_ = backend;
        target_ = target;
        applyBackendAndTarget();  // reads the net, with the convolutions the backend runs
        readOutputNames(origin);
        imageThreshold_ = settings_.imageThreshold;
        pixelThreshold_ = settings_.pixelThreshold;
        smoothingSigma_ = settings_.smoothingSigma;
        // One forward pass now, so a model whose graph cannot run fails here and not on a
        // production image, and so the first detect() is not slower than the rest.
        try {
            for (const Mat& out :
                 runNetwork(std::vector<Mat>{Mat(settings_.input.size, CV_8UC3, Scalar::all(127))}))
                requireFiniteMap(out);
        } catch (const cv::Exception& e) {
            CV_Error(Error::StsError, "anomaly: model " + origin + " does not run: " + e.err);
        }
    }

    void detect(InputArray image, AnomalyResult& result) CV_OVERRIDE
    {
        std::vector<Mat> one{image.getMat()};
        std::vector<AnomalyResult> results;
        detectMats(one, results);
        result = std::move(results[0]);
    }

    void detectBatch(InputArrayOfArrays images, std::vector<AnomalyResult>& results) CV_OVERRIDE
    {
        std::vector<Mat> list;
        images.getMatVector(list);
        detectMats(list, results);
    }

    float getImageThreshold() const CV_OVERRIDE { return imageThreshold_; }
    void setImageThreshold(float t) CV_OVERRIDE
    {
        imageThreshold_ = checkedFinite(t, "image threshold");
    }
    float getPixelThreshold() const CV_OVERRIDE { return pixelThreshold_; }
    void setPixelThreshold(float t) CV_OVERRIDE
    {
        pixelThreshold_ = checkedFinite(t, "pixel threshold");
    }

    double getSmoothingSigma() const CV_OVERRIDE { return smoothingSigma_; }
    void setSmoothingSigma(double sigma) CV_OVERRIDE
    {
        if (!(sigma >= 0 && sigma <= 100))
            CV_Error(Error::StsOutOfRange, "anomaly: smoothing sigma must be in [0, 100]");
        smoothingSigma_ = sigma;
    }

    double getMinRegionArea() const CV_OVERRIDE { return minRegionArea_; }
    void setMinRegionArea(double area) CV_OVERRIDE
    {
        if (!(area >= 0))
            CV_Error(Error::StsOutOfRange, "anomaly: minimum region area must be >= 0");
        minRegionArea_ = area;
    }

    int getBatchSize() const CV_OVERRIDE { return batchSize_; }
    void setBatchSize(int batchSize) CV_OVERRIDE
    {
        if (batchSize < 1 || batchSize > 1024)
            CV_Error(Error::StsOutOfRange, "anomaly: batch size must be in [1, 1024]");
        batchSize_ = batchSize;
    }

    void setPreferableBackend(int backendId) CV_OVERRIDE
    {
        backend_ = backendId;
        applyBackendAndTarget();
    }
    void setPreferableTarget(int targetId) CV_OVERRIDE
    {
        target_ = targetId;
        applyBackendAndTarget();
    }
    int getBackend() const CV_OVERRIDE { return backend_; }
    int getTarget() const CV_OVERRIDE { return target_; }

    Size getInputSize() const CV_OVERRIDE { return settings_.input.size; }
    String getMethod() const CV_OVERRIDE { return settings_.method; }
    String getModelSize() const CV_OVERRIDE { return settings_.modelSize; }
    String getBackbone() const CV_OVERRIDE { return settings_.backbone; }
    String getTrainingSummary() const CV_OVERRIDE { return settings_.trainingSummary; }
    String getFormatVersion() const CV_OVERRIDE
    {
        return cv::format("%d.%d", settings_.formatMajor, settings_.formatMinor);
    }
    bool hasLocalGlobalMaps() const CV_OVERRIDE { return globalMapIndex_ > 0; }
    bool hasStatisticsScore() const CV_OVERRIDE { return statisticsIndex_ > 0; }
    String getMetadata(const String& key) const CV_OVERRIDE
    {
        auto it = settings_.metadata.find(key);
        return it == settings_.metadata.end() ? String() : String(it->second);
    }

private:
    static float checkedFinite(float v, const char* what)
    {
        if (!std::isfinite(v))
            CV_Error(Error::StsOutOfRange, cv::format("anomaly: %s must be finite", what));
        return v;
    }

    void readOutputNames(const std::string& origin)
    {
        const std::vector<String> names = net_.getUnconnectedOutLayersNames();
        auto has = [&](const char* n) {
            return std::find(names.begin(), names.end(), n) != names.end();
        };
        if (!has(kAnomalyMapOutput))
            CV_Error(Error::StsParseError,
                     "anomaly: model " + origin + " has no '" + kAnomalyMapOutput + "' output");
        outputNames_ = {kAnomalyMapOutput};
        if (has(kLocalMapOutput) != has(kGlobalMapOutput))
            CV_Error(
                Error::StsParseError,
                "anomaly: model " + origin + " must have both or neither of local_map/global_map");
        if (has(kLocalMapOutput)) {
            outputNames_.push_back(kLocalMapOutput);
            outputNames_.push_back(kGlobalMapOutput);
            globalMapIndex_ = outputNames_.size() - 1;
        }
        if (has(kStatisticsScoreOutput)) {
            outputNames_.push_back(kStatisticsScoreOutput);
            statisticsIndex_ = outputNames_.size() - 1;
        }
        // Looked up as a layer, not among the unconnected outputs: the exporter's score map is
        // also an input of the anomaly map (doc/model-format.md section 2).
        if (net_.getLayerId(kScoreMapOutput) >= 0) {
            outputNames_.push_back(kScoreMapOutput);
            scoreMapIndex_ = outputNames_.size() - 1;
        }
    }

    void loadNet(ConvolutionLayers convolutions)
    {
        dnn::Net net;
        try {
            net = readNetWithCustomLayers(modelBytes_, convolutions);
        } catch (const cv::Exception& e) {
            CV_Error(Error::StsParseError, "anomaly: cannot load model " + origin_ + ": " + e.err);
        }
        if (net.empty())
            CV_Error(Error::StsParseError, "anomaly: cannot load model " + origin_);
        net_ = net;
        netConvolutions_ = convolutions;
    }

    // Picks what can actually run; an unavailable request falls back to OpenCV's CPU path.
    void applyBackendAndTarget()
    {
        if (backend_ == dnn::DNN_BACKEND_CUDA && !cudaAvailable()) {
            CV_LOG_WARNING(NULL,
                           "anomaly: CUDA backend requested but this OpenCV build has no CUDA "
                           "target available; falling back to the CPU");
            backend_ = dnn::DNN_BACKEND_OPENCV;
            target_ = dnn::DNN_TARGET_CPU;
        }
        if (backend_ == dnn::DNN_BACKEND_DEFAULT)
            backend_ = dnn::DNN_BACKEND_OPENCV;
        const std::vector<dnn::Target> targets = dnn::getAvailableTargets(dnn::Backend(backend_));
        if (std::find(targets.begin(), targets.end(), target_) == targets.end()) {
            CV_LOG_WARNING(NULL, cv::format("anomaly: target %d is not available for backend %d; "
                                            "falling back to the CPU",
                                            target_, backend_));
            backend_ = dnn::DNN_BACKEND_OPENCV;
            target_ = dnn::DNN_TARGET_CPU;
        }
        if (isCudaTarget(target_) && backend_ != dnn::DNN_BACKEND_CUDA)
            target_ = dnn::DNN_TARGET_CPU;
        // The module's convolution layers are the fastest on the CPU but run only there: for the
        // CUDA backend the net is read again with OpenCV's own convolutions, which it runs on the
        // GPU.
        const ConvolutionLayers convolutions = backend_ == dnn::DNN_BACKEND_CUDA
                                                   ? CONVOLUTION_LAYERS_BUILTIN
                                                   : CONVOLUTION_LAYERS_CUSTOM;
        if (net_.empty() || convolutions != netConvolutions_)
            loadNet(convolutions);
        net_.setPreferableBackend(backend_);
        net_.setPreferableTarget(target_);
    }

    std::vector<Mat> runNetwork(const std::vector<Mat>& images)
    {
        Mat blob;
        makeInputBlob(images, settings_.input, blob);
        net_.setInput(blob, "image");
        std::vector<Mat> outputs;
        try {
            net_.forward(outputs, outputNames_);
        } catch (const cv::Exception&) {
            throw;
        } catch (const std::exception& e) {
            // Like the importer, OpenCV 4.6's layers may let standard exceptions escape; detect()
            // promises cv::Exception only.
            CV_Error(Error::StsError, std::string("anomaly: the network failed: ") + e.what());
        }
        for (const Mat& out : outputs)
            if (out.dims != 4 || out.size[0] != int(images.size()) || out.size[1] != 1)
                CV_Error(Error::StsError, "anomaly: model output is not [N,1,h,w]");
        if (statisticsIndex_ > 0 && outputs[statisticsIndex_].total() != images.size())
            CV_Error(Error::StsError, "anomaly: model output statistics_score is not [N,1,1,1]");
        return outputs;
    }

    // Image-level result for one map plane: smoothed at map resolution, then resized.
    struct MapResult
    {
        Mat fullSize;
        float score;
    };

    // One map plane of a batch output, smoothed at map resolution.
    Mat smoothedPlane(const Mat& outputs, int index) const
    {
        const int h = outputs.size[2], w = outputs.size[3];
        Mat raw(h, w, CV_32F, const_cast<float*>(outputs.ptr<float>(index, 0)));
        requireFiniteMap(raw);
        const double sigmaInMapPixels = smoothingSigma_ * double(w) / settings_.input.size.width;
        return smoothMap(raw, sigmaInMapPixels).clone();
    }

    MapResult postprocessMap(const Mat& outputs, int index, Size imageSize) const
    {
        const Mat smoothed = smoothedPlane(outputs, index);
        MapResult r;
        r.score = reduceMap(smoothed, settings_.reduction);
        resize(smoothed, r.fullSize, imageSize, 0, 0, INTER_LINEAR);
        return r;
    }

    void detectMats(const std::vector<Mat>& images, std::vector<AnomalyResult>& results)
    {
        if (images.empty())
            CV_Error(Error::StsBadArg, "anomaly: no input images");
        results.assign(images.size(), AnomalyResult());
        for (size_t start = 0; start < images.size(); start += size_t(batchSize_)) {
            const size_t stop = std::min(images.size(), start + size_t(batchSize_));
            const std::vector<Mat> chunk(images.begin() + start, images.begin() + stop);
            const std::vector<Mat> outputs = runNetwork(chunk);
            for (size_t i = 0; i < chunk.size(); ++i)
                fillResult(outputs, int(i), chunk[i].size(), results[start + i]);
        }
    }

    void fillResult(const std::vector<Mat>& outputs, int index, Size imageSize,
                    AnomalyResult& r) const
    {
        MapResult combined = postprocessMap(outputs[0], index, imageSize);
        // A model with a score map takes the image score from it (format 1.10): its anomaly map
        // is made for outlining, its score map for the image verdict.
        r.score = scoreMapIndex_ > 0 ? reduceMap(smoothedPlane(outputs[scoreMapIndex_], index),
                                                 settings_.reduction)
                                     : combined.score;
        if (statisticsIndex_ > 0) {
            r.statisticsScore = outputs[statisticsIndex_].ptr<float>(index)[0];
            if (!std::isfinite(r.statisticsScore))
                CV_Error(Error::StsError,
                         "anomaly: the model produced a NaN or infinite "
                         "statistics score (corrupt weights?)");
            // The exporter puts the statistics score in the map score's units (doc/model-format.md
            // section 5): either one high enough makes the image NG.
            r.score = std::max(r.score, r.statisticsScore);
        }
        r.normalizedScore = normalizeScore(r.score, imageThreshold_, settings_.imageNormMin,
                                           settings_.imageNormMax);
        r.isAnomalous = r.score >= imageThreshold_;
        r.anomalyMap = combined.fullSize;
        r.mask = r.anomalyMap >= pixelThreshold_;
        r.regions = findDefectRegions(r.anomalyMap, r.mask, minRegionArea_);
        if (globalMapIndex_ > 0) {
            MapResult local = postprocessMap(outputs[globalMapIndex_ - 1], index, imageSize);
            MapResult global = postprocessMap(outputs[globalMapIndex_], index, imageSize);
            r.localMap = local.fullSize;
            r.localScore = local.score;
            r.globalMap = global.fullSize;
            r.globalScore = global.score;
        }
    }

    ModelSettings settings_;
    // The file's bytes, to read the net again when the backend needs other convolution layers.
    std::vector<uchar> modelBytes_;
    std::string origin_;
    dnn::Net net_;
    ConvolutionLayers netConvolutions_ = CONVOLUTION_LAYERS_CUSTOM;
    std::vector<String> outputNames_;
    // Positions in outputNames_ (0: absent; anomaly_map is always first).
    size_t globalMapIndex_ = 0, statisticsIndex_ = 0, scoreMapIndex_ = 0;
    float imageThreshold_ = 0.f, pixelThreshold_ = 0.f;
    double smoothingSigma_ = 0, minRegionArea_ = 0;
    int batchSize_ = 8;
    int backend_ = dnn::DNN_BACKEND_OPENCV, target_ = dnn::DNN_TARGET_CPU;
};

}  // namespace

Ptr<LocalGlobalFlow> LocalGlobalFlow::create(const String& model, int backend, int target)
{
    return makePtr<LocalGlobalFlowImpl>(readFileBytes(model), "'" + model + "'", backend, target);
}

Ptr<LocalGlobalFlow> LocalGlobalFlow::createFromBuffer(const std::vector<uchar>& modelBytes,
                                                       int backend, int target)
{
    return makePtr<LocalGlobalFlowImpl>(modelBytes, "(in memory)", backend, target);
}

}  // namespace anomaly
}  // namespace cv
