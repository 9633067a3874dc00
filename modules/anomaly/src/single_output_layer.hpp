// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The cv::dnn::Layer forward() plumbing shared by the module's custom layers.
#ifndef OPENCV_ANOMALY_SINGLE_OUTPUT_LAYER_HPP
#define OPENCV_ANOMALY_SINGLE_OUTPUT_LAYER_HPP

#include <opencv2/dnn.hpp>

namespace cv {
namespace anomaly {

/** Base of the custom layers, which all have one output: forward() unpacks OpenCV's array
arguments and hands compute() the input Mats and the preallocated output. */
class SingleOutputLayer : public dnn::Layer
{
public:
    void forward(InputArrayOfArrays inputs, OutputArrayOfArrays outputs,
                 OutputArrayOfArrays) override
    {
        std::vector<Mat> in, out;
        inputs.getMatVector(in);
        outputs.getMatVector(out);
        compute(in, out[0]);
    }

protected:
    explicit SingleOutputLayer(const dnn::LayerParams& params) : Layer(params) {}
    /** Raises unless the node had no initializer inputs (the importer turns those into blobs);
    `expected` says what the op takes, e.g. "1 non-constant input". */
    void requireNoInitializers(const char* op, const char* expected) const
    {
        if (!blobs.empty())
            CV_Error(Error::StsBadArg, cv::format("%s '%s': expects %s and no initializers, got %d",
                                                  op, name.c_str(), expected, int(blobs.size())));
    }
    virtual void compute(const std::vector<Mat>& inputs, Mat& output) const = 0;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_SINGLE_OUTPUT_LAYER_HPP
