// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef OPENCV_ANOMALY_METRICS_HPP
#define OPENCV_ANOMALY_METRICS_HPP

#include <opencv2/core.hpp>

#include <vector>

namespace cv {
namespace anomaly {

//! @addtogroup anomaly
//! @{

/** @brief Evaluation metrics of unsupervised anomaly detection, as the field reports them
(MVTec AD, MVTec LOCO, anomalib).

Conventions shared by every function here:
- a larger score or map value means "more anomalous"; a sample is predicted anomalous when its value
  is at or above a threshold;
- ties are exact: all samples with the same value enter or leave the prediction together (one curve
  point per distinct value, as scikit-learn's roc_curve and precision_recall_curve do);
- image labels: 0 = good, any other value = anomalous;
- maps are single-channel CV_32F; masks are single-channel CV_8U, a pixel is defective when its
value is above 0; an empty mask stands for an all-good mask of the map's size;
- values must not be NaN; invalid input raises cv::Exception naming the problem, and so does a
metric that is undefined for the input (for example AUROC with only one class).
*/

/** @brief Best F1 score over all thresholds ("F1-max", as anomalib reports it). */
struct CV_EXPORTS_W_SIMPLE F1Max
{
    CV_WRAP F1Max();              //!< numbers 0, flags false, everything else empty
    CV_PROP_RW double f1;         //!< the largest F1 over all thresholds
    CV_PROP_RW double threshold;  //!< the lowest threshold reaching it (predict anomalous at >=)
    CV_PROP_RW double precision;  //!< precision at that threshold
    CV_PROP_RW double recall;     //!< recall at that threshold
};

/** @brief Area under the ROC curve of image scores (scikit-learn's roc_auc_score). */
CV_EXPORTS_W double imageAUROC(const std::vector<float>& scores, const std::vector<int>& labels);

/** @brief Average precision of image scores (scikit-learn's average_precision_score:
sum over distinct thresholds of (R_n - R_{n-1}) P_n, no interpolation). */
CV_EXPORTS_W double imageAP(const std::vector<float>& scores, const std::vector<int>& labels);

/** @brief Best F1 over all image-score thresholds. */
CV_EXPORTS_W F1Max imageF1Max(const std::vector<float>& scores, const std::vector<int>& labels);

/** @brief ROC curve of image scores, one point per distinct score plus the origin, from the
highest threshold down (scikit-learn's roc_curve with drop_intermediate=False; the first threshold
is +infinity).
@param scores image scores.
@param labels 0 = good, other = anomalous.
@param fpr false positive rate of each point.
@param tpr true positive rate of each point.
@param thresholds the threshold of each point (predict anomalous at >=).
*/
CV_EXPORTS_W void imageROC(const std::vector<float>& scores, const std::vector<int>& labels,
                           CV_OUT std::vector<double>& fpr, CV_OUT std::vector<double>& tpr,
                           CV_OUT std::vector<double>& thresholds);

/** @brief Pixel-level AUROC over all pixels of all maps pooled together.
@param maps anomaly maps, CV_32FC1, one per image.
@param masks ground-truth masks, CV_8UC1 of each map's size (or empty for an all-good image).
*/
CV_EXPORTS_W double pixelAUROC(InputArrayOfArrays maps, InputArrayOfArrays masks);

/** @brief Pixel-level average precision over all pixels pooled (see imageAP). */
CV_EXPORTS_W double pixelAP(InputArrayOfArrays maps, InputArrayOfArrays masks);

/** @brief Pixel-level F1-max over all pixels pooled (see imageF1Max). */
CV_EXPORTS_W F1Max pixelF1Max(InputArrayOfArrays maps, InputArrayOfArrays masks);

/** @brief The three pooled-pixel metrics of one data set at once. */
struct CV_EXPORTS_W_SIMPLE PixelMetrics
{
    CV_WRAP PixelMetrics();   //!< numbers 0, flags false, everything else empty
    CV_PROP_RW double auroc;  //!< as pixelAUROC()
    CV_PROP_RW double ap;     //!< as pixelAP()
    CV_PROP_RW F1Max f1Max;   //!< as pixelF1Max()
};

/** @brief pixelAUROC(), pixelAP() and pixelF1Max() from one ranking of the pixels: about a third
of the time of the three calls on large data sets. */
CV_EXPORTS_W PixelMetrics pixelMetrics(InputArrayOfArrays maps, InputArrayOfArrays masks);

/** @brief Normalised area under the per-region-overlap (PRO) curve, as defined for MVTec AD.

Every 8-connected component of every mask is a region. For a threshold t, PRO(t) is the mean over
all regions of the fraction of the region's pixels with map value >= t, and FPR(t) the fraction of
all good pixels (mask 0, in every image) with value >= t. The curve (one point per distinct value,
starting at (0,0)) is integrated with the trapezoidal rule from FPR 0 to fprLimit, linearly
interpolating PRO at fprLimit, and divided by fprLimit, so a perfect map scores 1.
@param maps anomaly maps, CV_32FC1.
@param masks ground-truth masks, CV_8UC1 (empty = all good).
@param fprLimit integration limit in (0, 1]; 0.3 is the MVTec AD / anomalib convention.
*/
CV_EXPORTS_W double pixelAUPRO(InputArrayOfArrays maps, InputArrayOfArrays masks,
                               double fprLimit = 0.3);

/** @brief Normalised area under the saturated-PRO (sPRO) curve of MVTec LOCO AD.

Each defect is one ground-truth mask (MVTec LOCO has one file per defect; defects may overlap). For
a threshold t, the defect's overlap is the number of its pixels with map value >= t divided by its
saturation area, capped at 1; sPRO(t) is the mean overlap over all defects. FPR(t) is computed on
the pixels of the good images only (images that have no defect). The curve is integrated up to
fprLimit and normalised exactly as in pixelAUPRO().
@param maps anomaly maps, CV_32FC1, one per image.
@param defectMasks one CV_8UC1 mask per defect, of its image's map size (pixel > 0 = defect).
@param defectImages for each defect, the index of its image in maps.
@param saturationAreas for each defect, the number of detected pixels at which its overlap reaches 1
(see saturationArea() in dataset.hpp); must be > 0.
@param fprLimit integration limit in (0, 1]; MVTec LOCO reports 0.05.
*/
CV_EXPORTS_W double pixelAUSPRO(InputArrayOfArrays maps, InputArrayOfArrays defectMasks,
                                const std::vector<int>& defectImages,
                                const std::vector<double>& saturationAreas, double fprLimit = 0.05);

//! @}

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_METRICS_HPP
