// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef OPENCV_ANOMALY_DATASET_HPP
#define OPENCV_ANOMALY_DATASET_HPP

#include <opencv2/core.hpp>

#include <vector>

namespace cv {
namespace anomaly {

//! @addtogroup anomaly
//! @{

/** @brief On-disk layouts of anomaly detection data sets readTestSet() understands. */
enum DatasetLayout
{
    DATASET_AUTO = 0,  //!< detect from the directory tree (see detectDatasetLayout())
    /** MVTec AD category: train/good, test/<defect>, ground_truth/<defect>/<name>_mask.png;
    test/good images have no mask. */
    DATASET_MVTEC_AD = 1,
    /** MVTec LOCO AD category: test/{good,logical_anomalies,structural_anomalies},
    ground_truth/<type>/<image name>/<NNN>.png (one mask per defect), defects_config.json. */
    DATASET_MVTEC_LOCO = 2,
    /** MVTec 3D-AD category, RGB part: test/<defect>/rgb/<name>.png with
    test/<defect>/gt/<name>.png; train/good/rgb. */
    DATASET_MVTEC_3D = 3,
    /** Plain folders: <root>/good, one folder per defect type, and optionally <root>/masks (or
    <root>/ground_truth) holding <defect>/<stem>.<ext> or <defect>/<stem>_mask.<ext>. */
    DATASET_FOLDER = 4
};

/** @brief One test image and its ground truth, as file paths (no pixels are read). */
struct CV_EXPORTS_W_SIMPLE DatasetSample
{
    CV_WRAP DatasetSample();       //!< numbers 0, flags false, everything else empty
    CV_PROP_RW String imagePath;   //!< the image file
    CV_PROP_RW String defectType;  //!< "good" or the defect folder's name
    CV_PROP_RW bool isAnomalous;   //!< true for every defect type other than "good"
    /** Ground-truth mask files; a pixel is defective where a mask is > 0. Usually one; MVTec LOCO
    has one per defect; empty when the image has no mask (good images of MVTec AD, or a folder data
    set without masks). */
    CV_PROP_RW std::vector<String> maskPaths;
};

/** @brief One entry of MVTec LOCO's defects_config.json. */
struct CV_EXPORTS_W_SIMPLE DefectConfig
{
    CV_WRAP DefectConfig();                 //!< numbers 0, flags false, everything else empty
    CV_PROP_RW String defectName;           //!< "defect_name"
    CV_PROP_RW int pixelValue;              //!< "pixel_value": the mask value of this defect
    CV_PROP_RW double saturationThreshold;  //!< "saturation_threshold"
    CV_PROP_RW bool relativeSaturation;     //!< "relative_saturation"
};

/** @brief The test split of a data set. */
struct CV_EXPORTS_W_SIMPLE TestSet
{
    CV_WRAP TestSet();       //!< layout DATASET_AUTO, hasMasks false, everything else empty
    CV_PROP_RW String root;  //!< the directory that was read
    CV_PROP_RW int layout;   //!< the DatasetLayout that was read
    CV_PROP_RW std::vector<DatasetSample> samples;       //!< sorted by defect type, then file name
    CV_PROP_RW std::vector<DefectConfig> defectConfigs;  //!< MVTec LOCO only; empty otherwise
    /** True when every anomalous sample has a mask, so pixel metrics can be computed. */
    CV_PROP_RW bool hasMasks;
};

/** @brief Detects the layout of a data set directory.
MVTec LOCO when defects_config.json or test/logical_anomalies exists; MVTec 3D-AD when test/<defect>
folders hold an rgb folder; MVTec AD when test/ exists; DATASET_FOLDER when a good/ folder exists.
@throws cv::Exception naming the directory when none applies or it does not exist.
*/
CV_EXPORTS_W int detectDatasetLayout(const String& root);

/** @brief Lists the test images of a data set with their labels and mask files.
Every anomalous image of a layout with masks must have its mask file(s); missing masks and
unreadable directories raise one cv::Exception that names the files. Image and mask pixels are not
read here (the module links no image codecs); use binarizeMask() on the masks you load.
@param root the category directory (MVTec) or the folder data set's root.
@param layout a DatasetLayout; DATASET_AUTO detects it.
*/
CV_EXPORTS_W TestSet readTestSet(const String& root, int layout = DATASET_AUTO);

/** @brief Lists training images (defect-free), sorted by name: train/good of an MVTec AD or LOCO
category, train/good/rgb of an MVTec 3D-AD category, otherwise the images directly in root.
@throws cv::Exception naming root when it holds no image. */
CV_EXPORTS_W std::vector<String> listTrainingImages(const String& root);

/** @brief Reads MVTec LOCO's defects_config.json.
@throws cv::Exception naming the file and the entry when it is missing or malformed. */
CV_EXPORTS_W std::vector<DefectConfig> readDefectConfigs(const String& path);

/** @brief Binary ground-truth mask: 255 where any channel of mask is > 0, else 0 (CV_8UC1). */
CV_EXPORTS_W void binarizeMask(InputArray mask, OutputArray binary);

/** @brief Saturation area of one MVTec LOCO defect for pixelAUSPRO().
@param rawMask the defect's mask as stored (its non-zero pixel value selects the config entry).
@param configs the data set's defect configurations.
@return saturationThreshold * defect area for relative configs, otherwise
min(saturationThreshold, defect area).
@throws cv::Exception when the mask is empty, holds several non-zero values, or its value has no
config entry. */
CV_EXPORTS_W double saturationArea(InputArray rawMask, const std::vector<DefectConfig>& configs);

//! @}

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_DATASET_HPP
