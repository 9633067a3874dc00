// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Image -> network input blob (doc/model-format.md section 4). The training tool calls this same
// function, so training and inference see identical tensors.
#include "precomp.hpp"

#include <cfloat>

namespace cv {
namespace anomaly {

namespace {

void checkInputSize(const InputSpec& spec)
{
    if (spec.size.width <= 0 || spec.size.height <= 0)
        CV_Error(Error::StsBadArg, "anomaly: input size must be positive");
}

// One image as 3-channel float32 in [0,1], network colour order, at the network's size.
Mat toNetworkImage(const Mat& image, const InputSpec& spec)
{
    if (image.empty())
        CV_Error(Error::StsBadArg, "anomaly: empty input image");
    if (image.dims != 2)
        CV_Error(Error::StsBadArg, "anomaly: input image must be 2-D");
    const int depth = image.depth(), channels = image.channels();
    double scale = 1.0;
    if (depth == CV_8U)
        scale = 1.0 / 255.0;
    else if (depth == CV_16U)
        scale = 1.0 / 65535.0;
    else if (depth != CV_32F)
        CV_Error(
            Error::StsUnsupportedFormat,
            cv::format("anomaly: unsupported image depth %s (expected CV_8U, CV_16U or CV_32F)",
                       typeToString(image.type()).c_str()));
    if (channels != 1 && channels != 3 && channels != 4)
        CV_Error(
            Error::StsUnsupportedFormat,
            cv::format("anomaly: unsupported channel count %d (expected 1, 3 or 4)", channels));
    // A NaN pixel would make every score NaN, and NaN compares false with any threshold: the
    // image would pass as OK. Refuse it instead.
    if (depth == CV_32F && !checkRange(image, true, nullptr, -FLT_MAX, FLT_MAX))
        CV_Error(Error::StsBadArg, "anomaly: float image contains NaN or infinite values");

    Mat resized;
    const bool shrinkMuch = image.cols > 2 * spec.size.width && image.rows > 2 * spec.size.height;
    // Resize before colour conversion and scaling: cheaper on large inputs, and per-channel
    // linear operations commute with bilinear/area resampling.
    resize(image, resized, spec.size, 0, 0, shrinkMuch ? INTER_AREA : INTER_LINEAR);

    Mat colour;
    if (channels == 1)
        cvtColor(resized, colour, spec.rgb ? COLOR_GRAY2RGB : COLOR_GRAY2BGR);
    else if (channels == 4)
        cvtColor(resized, colour, spec.rgb ? COLOR_BGRA2RGB : COLOR_BGRA2BGR);
    else if (spec.rgb)
        cvtColor(resized, colour, COLOR_BGR2RGB);
    else
        colour = resized;

    Mat result;
    colour.convertTo(result, CV_32F, scale);
    return result;
}

}  // namespace

void makeNetworkImage(InputArray image, const InputSpec& spec, OutputArray out)
{
    checkInputSize(spec);
    toNetworkImage(image.getMat(), spec).copyTo(out);
}

void makeInputBlob(InputArrayOfArrays images, const InputSpec& spec, OutputArray blob)
{
    checkInputSize(spec);
    for (int c = 0; c < 3; ++c)
        if (!(spec.std[c] > 0))
            CV_Error(Error::StsBadArg, "anomaly: std must be positive");

    std::vector<Mat> list;
    if (images.kind() == _InputArray::STD_VECTOR_MAT ||
        images.kind() == _InputArray::STD_ARRAY_MAT ||
        images.kind() == _InputArray::STD_VECTOR_VECTOR)
        images.getMatVector(list);
    else
        list.push_back(images.getMat());
    if (list.empty())
        CV_Error(Error::StsBadArg, "anomaly: no input images");

    const int n = int(list.size()), h = spec.size.height, w = spec.size.width;
    const int shape[] = {n, 3, h, w};
    blob.create(4, shape, CV_32F);
    Mat out = blob.getMat();
    for (int i = 0; i < n; ++i) {
        Mat img = toNetworkImage(list[i], spec);
        std::vector<Mat> planes;
        split(img, planes);
        for (int c = 0; c < 3; ++c) {
            Mat dst(h, w, CV_32F, out.ptr<float>(i, c));
            // (x - mean) / std, written straight into the blob.
            planes[c].convertTo(dst, CV_32F, 1.0 / spec.std[c], -spec.mean[c] / spec.std[c]);
        }
    }
}

}  // namespace anomaly
}  // namespace cv
