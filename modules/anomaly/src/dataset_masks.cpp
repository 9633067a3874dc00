// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Ground-truth helpers: mask binarisation and MVTec LOCO's defect configurations.
#include "opencv2/anomaly/dataset.hpp"

#include <opencv2/core/persistence.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace cv {
namespace anomaly {

std::vector<DefectConfig> readDefectConfigs(const String& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        CV_Error_(Error::StsObjectNotFound, ("cannot open defect config %s", path.c_str()));
    std::ostringstream text;
    text << file.rdbuf();
    // The file's top level is a JSON array; cv::FileStorage wants an object, so wrap it.
    const std::string wrapped = "{\"defects\": " + text.str() + "\n}";
    std::vector<DefectConfig> configs;
    try {
        FileStorage fs(wrapped, FileStorage::READ | FileStorage::MEMORY | FileStorage::FORMAT_JSON);
        const FileNode list = fs["defects"];
        if (!list.isSeq())
            CV_Error(Error::StsParseError, "the top level is not a list");
        int index = 0;
        for (const FileNode& entry : list) {
            for (const char* key :
                 {"defect_name", "pixel_value", "saturation_threshold", "relative_saturation"})
                if (entry[key].empty())
                    CV_Error_(Error::StsParseError, ("entry %d lacks \"%s\"", index, key));
            DefectConfig c;
            c.defectName = std::string(entry["defect_name"]);
            c.pixelValue = int(entry["pixel_value"]);
            c.saturationThreshold = double(entry["saturation_threshold"]);
            // JSON true/false arrive as the integers 1/0.
            c.relativeSaturation = int(entry["relative_saturation"]) != 0;
            if (!(c.saturationThreshold > 0))
                CV_Error_(Error::StsParseError,
                          ("entry %d (%s) has saturation_threshold %g, expected > 0", index,
                           c.defectName.c_str(), c.saturationThreshold));
            configs.push_back(c);
            ++index;
        }
    } catch (const Exception& e) {
        CV_Error_(Error::StsParseError,
                  ("malformed defect config %s: %s", path.c_str(), e.err.c_str()));
    }
    if (configs.empty())
        CV_Error_(Error::StsParseError, ("defect config %s lists no defect", path.c_str()));
    return configs;
}

void binarizeMask(InputArray mask, OutputArray binary)
{
    const Mat src = mask.getMat();
    if (src.empty())
        CV_Error(Error::StsBadArg, "binarizeMask: empty mask");
    std::vector<Mat> channels;
    split(src, channels);
    // "> 0" rather than "!= 0": negative values of signed or float masks are not defects.
    Mat defective = channels[0] > 0;
    for (size_t c = 1; c < channels.size(); ++c)
        bitwise_or(defective, channels[c] > 0, defective);
    defective.copyTo(binary);
}

double saturationArea(InputArray rawMask, const std::vector<DefectConfig>& configs)
{
    const Mat mask = rawMask.getMat();
    if (mask.empty() || mask.channels() != 1)
        CV_Error(Error::StsBadArg, "saturationArea: the mask must be a non-empty 1-channel image");
    Mat values;
    mask.convertTo(values, CV_32S);
    const double area = double(countNonZero(values));
    if (area == 0)
        CV_Error(Error::StsBadArg, "saturationArea: the defect mask is empty");
    double minVal = 0, maxVal = 0;
    minMaxLoc(values, &minVal, &maxVal, nullptr, nullptr, values != 0);
    if (minVal != maxVal)
        CV_Error_(
            Error::StsBadArg,
            ("saturationArea: one defect mask holds several values (%g..%g)", minVal, maxVal));
    const int value = int(maxVal);
    const auto it = std::find_if(configs.begin(), configs.end(),
                                 [value](const DefectConfig& c) { return c.pixelValue == value; });
    if (it == configs.end())
        CV_Error_(Error::StsObjectNotFound,
                  ("saturationArea: no defect config has pixel_value %d", value));
    return it->relativeSaturation ? it->saturationThreshold * area
                                  : std::min(it->saturationThreshold, area);
}

}  // namespace anomaly
}  // namespace cv
