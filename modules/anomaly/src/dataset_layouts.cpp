// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Readers of the data set directory layouts: they list files and check that the ground truth each
// layout promises is there. No pixel is read (the module links no image codecs).
#include "opencv2/anomaly/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <system_error>

namespace cv {
namespace anomaly {

namespace fs = std::filesystem;

namespace {

const char* const kImageExtensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"};

std::string lowercase(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

bool isImageFile(const fs::path& p)
{
    const std::string ext = lowercase(p.extension().string());
    return std::find(std::begin(kImageExtensions), std::end(kImageExtensions), ext) !=
           std::end(kImageExtensions);
}

bool isHidden(const fs::path& p)
{
    return p.filename().string().rfind('.', 0) == 0;
}

bool isDirectory(const fs::path& p)
{
    std::error_code ec;
    return fs::is_directory(p, ec);
}

bool isFile(const fs::path& p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

// Entries of a directory, sorted by name; a directory that cannot be listed is an error, never an
// empty list.
std::vector<fs::path> sortedEntries(const fs::path& dir, bool wantDirectories)
{
    std::vector<fs::path> entries;
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const fs::path& p = it->path();
        if (isHidden(p))
            continue;
        if (wantDirectories ? isDirectory(p) : (isFile(p) && isImageFile(p)))
            entries.push_back(p);
    }
    if (ec)
        CV_Error_(Error::StsError,
                  ("cannot list directory %s: %s", dir.string().c_str(), ec.message().c_str()));
    std::sort(entries.begin(), entries.end());
    return entries;
}

std::vector<fs::path> sortedImages(const fs::path& dir)
{
    return sortedEntries(dir, false);
}
std::vector<fs::path> sortedSubdirectories(const fs::path& dir)
{
    return sortedEntries(dir, true);
}

// A mask named <stem><suffix><image extension> in dir, if one exists.
fs::path findMask(const fs::path& dir, const std::string& stem, const char* suffix)
{
    for (const char* ext : kImageExtensions) {
        const fs::path candidate = dir / (stem + suffix + ext);
        if (isFile(candidate))
            return candidate;
    }
    return fs::path();
}

// Gathers every anomalous image whose mask is missing, then fails once naming them all.
class MissingMasks
{
public:
    void add(const fs::path& image, const std::string& expected)
    {
        list_.push_back(image.string() + " (expected " + expected + ")");
    }
    void throwIfAny(const fs::path& root) const
    {
        if (list_.empty())
            return;
        std::string message = std::to_string(list_.size()) + " anomalous image(s) under " +
                              root.string() + " have no ground-truth mask: ";
        const size_t shown = std::min<size_t>(list_.size(), 10);
        for (size_t i = 0; i < shown; ++i)
            message += (i ? "; " : "") + list_[i];
        if (shown < list_.size())
            message += "; and " + std::to_string(list_.size() - shown) + " more";
        CV_Error(Error::StsObjectNotFound, message);
    }

private:
    std::vector<std::string> list_;
};

DatasetSample makeSample(const fs::path& image, const std::string& defectType)
{
    DatasetSample s;
    s.imagePath = image.string();
    s.defectType = defectType;
    s.isAnomalous = defectType != "good";
    return s;
}

void requireDirectory(const fs::path& dir, const char* layoutName)
{
    if (!isDirectory(dir))
        CV_Error_(Error::StsObjectNotFound,
                  ("%s layout: directory %s does not exist", layoutName, dir.string().c_str()));
}

void readMvtecAd(const fs::path& root, TestSet& set)
{
    requireDirectory(root / "test", "MVTec AD");
    const fs::path truth = root / "ground_truth";
    // Without a ground_truth folder the set is image-level only; with one, every mask must exist.
    const bool withMasks = isDirectory(truth);
    MissingMasks missing;
    for (const fs::path& defectDir : sortedSubdirectories(root / "test")) {
        const std::string defect = defectDir.filename().string();
        for (const fs::path& image : sortedImages(defectDir)) {
            DatasetSample s = makeSample(image, defect);
            if (s.isAnomalous && withMasks) {
                const std::string stem = image.stem().string();
                const fs::path mask = findMask(truth / defect, stem, "_mask");
                if (mask.empty())
                    missing.add(image, (truth / defect / (stem + "_mask.png")).string());
                else
                    s.maskPaths.push_back(mask.string());
            }
            set.samples.push_back(s);
        }
    }
    missing.throwIfAny(root);
}

void readMvtecLoco(const fs::path& root, TestSet& set)
{
    requireDirectory(root / "test", "MVTec LOCO");
    const fs::path config = root / "defects_config.json";
    if (!isFile(config))
        CV_Error_(Error::StsObjectNotFound,
                  ("MVTec LOCO layout: %s does not exist", config.string().c_str()));
    set.defectConfigs = readDefectConfigs(config.string());
    const fs::path truth = root / "ground_truth";
    MissingMasks missing;
    for (const fs::path& typeDir : sortedSubdirectories(root / "test")) {
        const std::string type = typeDir.filename().string();
        for (const fs::path& image : sortedImages(typeDir)) {
            DatasetSample s = makeSample(image, type);
            if (s.isAnomalous) {
                // One mask file per defect of this image, in ground_truth/<type>/<image stem>/.
                const fs::path maskDir = truth / type / image.stem();
                if (isDirectory(maskDir))
                    for (const fs::path& mask : sortedImages(maskDir))
                        s.maskPaths.push_back(mask.string());
                if (s.maskPaths.empty())
                    missing.add(image, (maskDir / "000.png").string());
            }
            set.samples.push_back(s);
        }
    }
    missing.throwIfAny(root);
}

void readMvtec3d(const fs::path& root, TestSet& set)
{
    requireDirectory(root / "test", "MVTec 3D-AD");
    MissingMasks missing;
    for (const fs::path& defectDir : sortedSubdirectories(root / "test")) {
        const std::string defect = defectDir.filename().string();
        requireDirectory(defectDir / "rgb", "MVTec 3D-AD");
        for (const fs::path& image : sortedImages(defectDir / "rgb")) {
            DatasetSample s = makeSample(image, defect);
            // Good images carry all-zero gt masks in MVTec 3D-AD; use them when present.
            const fs::path mask = findMask(defectDir / "gt", image.stem().string(), "");
            if (!mask.empty())
                s.maskPaths.push_back(mask.string());
            else if (s.isAnomalous)
                missing.add(image, (defectDir / "gt" / image.filename()).string());
            set.samples.push_back(s);
        }
    }
    missing.throwIfAny(root);
}

bool isMaskFolderName(const std::string& name)
{
    return name == "masks" || name == "ground_truth";
}

void readFolder(const fs::path& root, TestSet& set)
{
    requireDirectory(root / "good", "folder");
    fs::path maskRoot;
    for (const char* name : {"masks", "ground_truth"})
        if (isDirectory(root / name))
            maskRoot = root / name;
    MissingMasks missing;
    for (const fs::path& defectDir : sortedSubdirectories(root)) {
        const std::string defect = defectDir.filename().string();
        if (isMaskFolderName(defect))
            continue;
        for (const fs::path& image : sortedImages(defectDir)) {
            DatasetSample s = makeSample(image, defect);
            if (!maskRoot.empty()) {
                // Matched by file stem, in masks/<defect>/ first, then directly in masks/ (for
                // anomalous images only, so a good image never takes a defect's mask).
                const std::string stem = image.stem().string();
                std::vector<fs::path> dirs{maskRoot / defect};
                if (s.isAnomalous)
                    dirs.push_back(maskRoot);
                fs::path mask;
                for (const fs::path& dir : dirs)
                    for (const char* suffix : {"", "_mask"})
                        if (mask.empty())
                            mask = findMask(dir, stem, suffix);
                if (!mask.empty())
                    s.maskPaths.push_back(mask.string());
                else if (s.isAnomalous)
                    missing.add(image, (maskRoot / defect / (stem + ".png")).string());
            }
            set.samples.push_back(s);
        }
    }
    missing.throwIfAny(root);
}

}  // namespace

int detectDatasetLayout(const String& rootPath)
{
    const fs::path root(rootPath);
    if (!isDirectory(root))
        CV_Error_(Error::StsObjectNotFound,
                  ("data set directory %s does not exist", rootPath.c_str()));
    const fs::path test = root / "test";
    if (isFile(root / "defects_config.json") || isDirectory(test / "logical_anomalies"))
        return DATASET_MVTEC_LOCO;
    if (isDirectory(test)) {
        for (const fs::path& defectDir : sortedSubdirectories(test))
            if (isDirectory(defectDir / "rgb"))
                return DATASET_MVTEC_3D;
        return DATASET_MVTEC_AD;
    }
    if (isDirectory(root / "good"))
        return DATASET_FOLDER;
    CV_Error_(Error::StsBadArg,
              ("cannot tell the layout of %s: expected a test/ folder (MVTec AD, LOCO, 3D-AD) or a "
               "good/ folder (folder layout)",
               rootPath.c_str()));
}

TestSet readTestSet(const String& rootPath, int layout)
{
    TestSet set;
    set.root = rootPath;
    set.layout = layout == DATASET_AUTO ? detectDatasetLayout(rootPath) : layout;
    const fs::path root(rootPath);
    if (!isDirectory(root))
        CV_Error_(Error::StsObjectNotFound,
                  ("data set directory %s does not exist", rootPath.c_str()));
    switch (set.layout) {
        case DATASET_MVTEC_AD:
            readMvtecAd(root, set);
            break;
        case DATASET_MVTEC_LOCO:
            readMvtecLoco(root, set);
            break;
        case DATASET_MVTEC_3D:
            readMvtec3d(root, set);
            break;
        case DATASET_FOLDER:
            readFolder(root, set);
            break;
        default:
            CV_Error_(Error::StsOutOfRange, ("unknown data set layout %d", layout));
    }
    if (set.samples.empty())
        CV_Error_(Error::StsObjectNotFound, ("no test images found under %s", rootPath.c_str()));
    bool anyAnomalous = false, allMasked = true;
    for (const DatasetSample& s : set.samples)
        if (s.isAnomalous) {
            anyAnomalous = true;
            allMasked = allMasked && !s.maskPaths.empty();
        }
    set.hasMasks = anyAnomalous && allMasked;
    return set;
}

std::vector<String> listTrainingImages(const String& rootPath)
{
    const fs::path root(rootPath);
    if (!isDirectory(root))
        CV_Error_(Error::StsObjectNotFound,
                  ("training directory %s does not exist", rootPath.c_str()));
    fs::path dir = root;
    if (isDirectory(root / "train" / "good" / "rgb"))
        dir = root / "train" / "good" / "rgb";
    else if (isDirectory(root / "train" / "good"))
        dir = root / "train" / "good";
    std::vector<String> images;
    for (const fs::path& p : sortedImages(dir))
        images.push_back(p.string());
    if (images.empty())
        CV_Error_(
            Error::StsObjectNotFound,
            ("no training images (png, jpg, jpeg, bmp, tif, tiff) in %s", dir.string().c_str()));
    return images;
}

}  // namespace anomaly
}  // namespace cv
