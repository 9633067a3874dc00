// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Python binding support (OpenCV's generator includes misc/python/pyopencv_<module>.hpp): the
// vector_<T> names the generated code uses, and list <-> std::vector conversion for the module's
// structs.
#ifdef HAVE_OPENCV_ANOMALY

typedef std::vector<cv::anomaly::AnomalyResult> vector_AnomalyResult;
typedef std::vector<cv::anomaly::DefectRegion> vector_DefectRegion;
typedef std::vector<cv::anomaly::DatasetSample> vector_DatasetSample;
typedef std::vector<cv::anomaly::DefectConfig> vector_DefectConfig;

/** Python list <-> std::vector<T> element by element, through T's generated converters. */
template <typename T> struct pyopencvAnomalyStructVecConverter
{
    static bool to(PyObject* obj, std::vector<T>& value, const ArgInfo& info)
    {
        return pyopencv_to_generic_vec(obj, value, info);
    }
    static PyObject* from(const std::vector<T>& value) { return pyopencv_from_generic_vec(value); }
};

template <>
struct pyopencvVecConverter<cv::anomaly::AnomalyResult>
    : pyopencvAnomalyStructVecConverter<cv::anomaly::AnomalyResult>
{
};
template <>
struct pyopencvVecConverter<cv::anomaly::DefectRegion>
    : pyopencvAnomalyStructVecConverter<cv::anomaly::DefectRegion>
{
};
template <>
struct pyopencvVecConverter<cv::anomaly::DatasetSample>
    : pyopencvAnomalyStructVecConverter<cv::anomaly::DatasetSample>
{
};
template <>
struct pyopencvVecConverter<cv::anomaly::DefectConfig>
    : pyopencvAnomalyStructVecConverter<cv::anomaly::DefectConfig>
{
};

#endif  // HAVE_OPENCV_ANOMALY
