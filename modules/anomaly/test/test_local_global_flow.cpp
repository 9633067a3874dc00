// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "test_precomp.hpp"

#include "test_models.hpp"

#include <thread>

namespace opencv_test {
namespace {

Ptr<LocalGlobalFlow> channelMixDetector(bool withLocalGlobal = true)
{
    return LocalGlobalFlow::createFromBuffer(channelMixModel(withLocalGlobal).serialize());
}

double maxAbsDiff(const Mat& a, const Mat& b)
{
    return cv::norm(a, b, NORM_INF);
}

TEST(Anomaly_LocalGlobalFlow, uniform_image_scores_its_grey_level)
{
    auto detector = channelMixDetector();
    AnomalyResult r;
    detector->detect(Mat(60, 100, CV_8UC3, Scalar::all(51)), r);  // 51/255 = 0.2
    EXPECT_NEAR(r.score, 0.2f, 1e-6);
    // normalised = 0.5 + (0.2 - 0.5) / (1 - 0) = 0.2
    EXPECT_NEAR(r.normalizedScore, 0.2f, 1e-6);
    EXPECT_FALSE(r.isAnomalous);
    ASSERT_EQ(r.anomalyMap.type(), CV_32F);
    EXPECT_EQ(r.anomalyMap.size(), Size(100, 60));
    EXPECT_LT(maxAbsDiff(r.anomalyMap, Mat(60, 100, CV_32F, Scalar(0.2f))), 1e-6);
    EXPECT_EQ(countNonZero(r.mask), 0);
    EXPECT_TRUE(r.regions.empty());
}

TEST(Anomaly_LocalGlobalFlow, bright_patch_is_flagged_and_localised)
{
    auto detector = channelMixDetector();
    Mat image(480, 640, CV_8UC3, Scalar::all(0));
    const Rect defect(200, 100, 80, 60);
    image(defect).setTo(Scalar::all(255));
    AnomalyResult r;
    detector->detect(image, r);
    EXPECT_NEAR(r.score, 1.0f, 1e-5);
    EXPECT_TRUE(r.isAnomalous);
    EXPECT_NEAR(r.normalizedScore, 1.0f, 1e-6);  // 0.5 + 0.5 clamped at 1
    ASSERT_EQ(r.regions.size(), 1u);
    const Rect box = r.regions[0].box;
    const double iou = double((box & defect).area()) / double((box | defect).area());
    EXPECT_GT(iou, 0.8) << box;
    EXPECT_TRUE(defect.contains(r.regions[0].peakLocation));
    EXPECT_NEAR(r.regions[0].peakScore, 1.0f, 1e-5);
    EXPECT_FALSE(r.regions[0].contour.empty());
    EXPECT_EQ(r.mask.size(), image.size());
    EXPECT_EQ(r.mask.type(), CV_8U);
}

TEST(Anomaly_LocalGlobalFlow, local_and_global_maps_follow_their_outputs)
{
    auto detector = channelMixDetector();
    ASSERT_TRUE(detector->hasLocalGlobalMaps());
    AnomalyResult r;
    detector->detect(Mat(40, 40, CV_8UC3, Scalar(255, 0, 0)), r);  // pure blue (BGR)
    EXPECT_NEAR(r.localScore, 1.0f, 1e-6);
    EXPECT_NEAR(r.globalScore, 0.0f, 1e-6);
    EXPECT_NEAR(r.score, 1.0f / 3, 1e-6);
    EXPECT_EQ(r.localMap.size(), Size(40, 40));
    EXPECT_EQ(r.globalMap.size(), Size(40, 40));

    auto plain = channelMixDetector(false);
    EXPECT_FALSE(plain->hasLocalGlobalMaps());
    plain->detect(Mat(40, 40, CV_8UC3, Scalar(255, 0, 0)), r);
    EXPECT_TRUE(r.localMap.empty());
    EXPECT_TRUE(r.globalMap.empty());
}

TEST(Anomaly_LocalGlobalFlow, statistics_score_is_reported_and_raises_the_image_score)
{
    auto detector = LocalGlobalFlow::createFromBuffer(statisticsScoreModel().serialize());
    ASSERT_TRUE(detector->hasStatisticsScore());
    EXPECT_EQ(detector->getFormatVersion(), "1.1");
    AnomalyResult r;
    // Uniform grey 0.2: map score 0.2, statistics 2 x 0.2 = 0.4; the larger one is the score.
    detector->detect(Mat(50, 70, CV_8UC3, Scalar::all(51)), r);
    EXPECT_NEAR(r.statisticsScore, 0.4f, 1e-5);
    EXPECT_NEAR(r.score, 0.4f, 1e-5);
    EXPECT_FALSE(r.isAnomalous);
    EXPECT_NEAR(r.globalScore, 0.2f, 1e-6);  // the maps' own scores are unchanged
    // Grey 77/255 = 0.302: the statistics alone (0.604) cross the threshold 0.5, the map does not.
    detector->detect(Mat(50, 70, CV_8UC3, Scalar::all(77)), r);
    EXPECT_NEAR(r.statisticsScore, 2.f * 77 / 255, 1e-5);
    EXPECT_TRUE(r.isAnomalous);
    EXPECT_EQ(countNonZero(r.mask), 0);
    // A white quarter on black: map score 1, statistics 2 x 0.25 = 0.5; the map decides.
    Mat image(64, 64, CV_8UC3, Scalar::all(0));
    image(Rect(0, 0, 32, 32)).setTo(Scalar::all(255));
    detector->detect(image, r);
    EXPECT_NEAR(r.statisticsScore, 0.5f, 1e-5);
    EXPECT_NEAR(r.score, 1.0f, 1e-5);

    auto plain = channelMixDetector();
    EXPECT_FALSE(plain->hasStatisticsScore());
    plain->detect(Mat(50, 70, CV_8UC3, Scalar::all(51)), r);
    EXPECT_EQ(r.statisticsScore, 0.f);
    EXPECT_NEAR(r.score, 0.2f, 1e-6);
}

TEST(Anomaly_LocalGlobalFlow, score_map_gives_the_image_score_and_anomaly_map_the_pixels)
{
    auto detector = LocalGlobalFlow::createFromBuffer(scoreMapModel().serialize());
    EXPECT_EQ(detector->getFormatVersion(), "1.10");
    AnomalyResult r;
    // Pure green (BGR): score map 1 everywhere, so the image is NG (threshold 0.5), while the
    // anomaly map, (B + G + R) / 3 = 1/3, stays below the pixel threshold 0.5: no region.
    detector->detect(Mat(40, 40, CV_8UC3, Scalar(0, 255, 0)), r);
    EXPECT_NEAR(r.score, 1.0f, 1e-6);
    EXPECT_TRUE(r.isAnomalous);
    EXPECT_NEAR(r.anomalyMap.at<float>(20, 20), 1.0f / 3, 1e-6);
    EXPECT_EQ(countNonZero(r.mask), 0);
    // A white square on blue: the anomaly map marks the square (1 against 1/3), the score map
    // sees green only inside it (1): both agree; on pure blue the score map is 0 (OK) although
    // the anomaly map is 1/3 everywhere.
    Mat image(40, 40, CV_8UC3, Scalar(255, 0, 0));
    image(Rect(10, 10, 12, 12)).setTo(Scalar::all(255));
    detector->detect(image, r);
    EXPECT_NEAR(r.score, 1.0f, 1e-6);
    EXPECT_EQ(r.regions.size(), 1u);
    detector->detect(Mat(40, 40, CV_8UC3, Scalar(255, 0, 0)), r);
    EXPECT_NEAR(r.score, 0.0f, 1e-6);
    EXPECT_FALSE(r.isAnomalous);
    EXPECT_NEAR(r.localScore, 1.0f, 1e-6);  // the branches' own scores stay their maps'

    // Batched: each image's score from its own plane of the score map.
    detector->setBatchSize(2);
    std::vector<AnomalyResult> results;
    const std::vector<Mat> greens{Mat(32, 32, CV_8UC3, Scalar(0, 51, 0)),
                                  Mat(32, 32, CV_8UC3, Scalar(0, 204, 0))};
    detector->detectBatch(greens, results);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_NEAR(results[0].score, 0.2f, 1e-6);
    EXPECT_NEAR(results[1].score, 0.8f, 1e-6);
}

TEST(Anomaly_LocalGlobalFlow, statistics_scores_of_a_batch_belong_to_their_images)
{
    auto detector = LocalGlobalFlow::createFromBuffer(statisticsScoreModel().serialize());
    detector->setBatchSize(3);
    const std::vector<Mat> images{Mat(32, 32, CV_8UC3, Scalar::all(51)),
                                  Mat(32, 32, CV_8UC3, Scalar::all(102)),
                                  Mat(32, 32, CV_8UC3, Scalar::all(0))};
    std::vector<AnomalyResult> results;
    detector->detectBatch(images, results);
    ASSERT_EQ(results.size(), 3u);
    EXPECT_NEAR(results[0].statisticsScore, 0.4f, 1e-5);
    EXPECT_NEAR(results[1].statisticsScore, 0.8f, 1e-5);
    EXPECT_NEAR(results[2].statisticsScore, 0.0f, 1e-6);
}

TEST(Anomaly_LocalGlobalFlow, accepts_every_supported_channel_count_and_depth)
{
    auto detector = channelMixDetector();
    const std::vector<Mat> inputs = {
        Mat(30, 50, CV_8UC1, Scalar(51)),
        Mat(30, 50, CV_8UC3, Scalar::all(51)),
        Mat(30, 50, CV_8UC4, Scalar(51, 51, 51, 7)),
        Mat(30, 50, CV_16UC1, Scalar(13107)),
        Mat(30, 50, CV_16UC3, Scalar::all(13107)),
        Mat(30, 50, CV_32FC1, Scalar(0.2)),
        Mat(30, 50, CV_32FC3, Scalar::all(0.2)),
        Mat(30, 50, CV_32FC4, Scalar::all(0.2)),
        Mat(7, 900, CV_8UC3, Scalar::all(51)),  // extreme aspect ratio
    };
    for (const Mat& in : inputs) {
        AnomalyResult r;
        detector->detect(in, r);
        EXPECT_NEAR(r.score, 0.2f, 1e-5) << typeToString(in.type()) << " " << in.size();
        EXPECT_EQ(r.anomalyMap.size(), in.size());
    }
}

TEST(Anomaly_LocalGlobalFlow, rejects_bad_images_with_exceptions)
{
    auto detector = channelMixDetector();
    AnomalyResult r;
    EXPECT_THROW(detector->detect(Mat(), r), cv::Exception);
    EXPECT_THROW(detector->detect(Mat(10, 10, CV_8SC3, Scalar::all(1)), r), cv::Exception);
    EXPECT_THROW(detector->detect(Mat(10, 10, CV_64FC3, Scalar::all(0.1)), r), cv::Exception);
    EXPECT_THROW(detector->detect(Mat(10, 10, CV_8UC2, Scalar::all(1)), r), cv::Exception);
    Mat withNan(10, 10, CV_32FC3, Scalar::all(0.2));
    withNan.at<Vec3f>(4, 4)[1] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(detector->detect(withNan, r), cv::Exception);
    Mat withInf(10, 10, CV_32FC1, Scalar(0.2));
    withInf.at<float>(0, 0) = std::numeric_limits<float>::infinity();
    EXPECT_THROW(detector->detect(withInf, r), cv::Exception);
    std::vector<AnomalyResult> rs;
    EXPECT_THROW(detector->detectBatch(std::vector<Mat>(), rs), cv::Exception);
    EXPECT_THROW(detector->detectBatch(std::vector<Mat>{Mat(10, 10, CV_8UC3), Mat()}, rs),
                 cv::Exception);
}

TEST(Anomaly_LocalGlobalFlow, non_finite_model_output_is_an_error_not_an_ok_label)
{
    TestModel m;  // a model whose map is the image times a NaN weight
    const int64_t s = kTestModelSize;
    m.input("image", {-1, 3, s, s});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    m.floatTensor("w", {1, 3, 1, 1}, {nan, nan, nan});
    m.node("Conv", {"image", "w"}, {"anomaly_map"}, {TestAttr::list("kernel_shape", {1, 1})});
    m.output("anomaly_map", {-1, 1, s, s});
    addValidMetadata(m);
    // The warm-up forward pass at load time already sees the NaN map.
    EXPECT_THROW(LocalGlobalFlow::createFromBuffer(m.serialize()), cv::Exception);
}

TEST(Anomaly_LocalGlobalFlow, thresholds_are_read_from_the_model_and_settable)
{
    auto detector = channelMixDetector();
    EXPECT_FLOAT_EQ(detector->getImageThreshold(), 0.5f);
    EXPECT_FLOAT_EQ(detector->getPixelThreshold(), 0.5f);
    detector->setImageThreshold(0.1f);
    detector->setPixelThreshold(0.1f);
    AnomalyResult r;
    detector->detect(Mat(20, 20, CV_8UC3, Scalar::all(51)), r);
    EXPECT_TRUE(r.isAnomalous);
    EXPECT_NEAR(r.normalizedScore, 0.6f, 1e-6);  // 0.5 + (0.2 - 0.1) / 1
    EXPECT_EQ(countNonZero(r.mask), 400);
    EXPECT_THROW(detector->setImageThreshold(std::numeric_limits<float>::quiet_NaN()),
                 cv::Exception);
}

TEST(Anomaly_LocalGlobalFlow, smoothing_spreads_an_impulse_by_a_gaussian)
{
    auto detector = channelMixDetector();
    Mat image(kTestModelSize, kTestModelSize, CV_8UC3, Scalar::all(0));
    image.at<Vec3b>(16, 16) = Vec3b(255, 255, 255);
    AnomalyResult r;
    detector->detect(image, r);
    EXPECT_NEAR(r.score, 1.0f, 1e-6);
    detector->setSmoothingSigma(1.0);  // map is at input resolution: sigma 1 map pixel
    detector->detect(image, r);
    // Peak of a normalised 2-D Gaussian sampled on the grid (radius 4 sigma):
    // k0 = 1 / sum_{i=-4..4} exp(-i^2/2) = 1 / 2.506628 = 0.398943; peak = k0^2 = 0.159155.
    EXPECT_NEAR(r.score, 0.159155f, 1e-4);
    // A uniform map is unchanged by smoothing.
    detector->detect(Mat(50, 50, CV_8UC3, Scalar::all(51)), r);
    EXPECT_NEAR(r.score, 0.2f, 1e-5);
    EXPECT_THROW(detector->setSmoothingSigma(-1), cv::Exception);
}

TEST(Anomaly_LocalGlobalFlow, topk_reduction_averages_the_k_largest_values)
{
    TestModel m = channelMixModel();
    m.metadata("anomaly.score.reduction", "topk:4");
    auto detector = LocalGlobalFlow::createFromBuffer(m.serialize());
    Mat image(kTestModelSize, kTestModelSize, CV_8UC3, Scalar::all(0));
    image.at<Vec3b>(3, 3) = Vec3b(255, 255, 255);
    image.at<Vec3b>(20, 9) = Vec3b(255, 255, 255);
    AnomalyResult r;
    detector->detect(image, r);
    EXPECT_NEAR(r.score, 0.5f, 1e-6);  // (1 + 1 + 0 + 0) / 4
}

TEST(Anomaly_LocalGlobalFlow, min_region_area_drops_small_regions)
{
    auto detector = channelMixDetector();
    Mat image(kTestModelSize, kTestModelSize, CV_8UC3, Scalar::all(0));
    image(Rect(2, 2, 1, 1)).setTo(Scalar::all(255));    // 1 pixel
    image(Rect(10, 10, 6, 5)).setTo(Scalar::all(255));  // 30 pixels
    AnomalyResult r;
    detector->detect(image, r);
    ASSERT_EQ(r.regions.size(), 2u);
    detector->setMinRegionArea(10);
    detector->detect(image, r);
    ASSERT_EQ(r.regions.size(), 1u);
    EXPECT_EQ(r.regions[0].box, Rect(10, 10, 6, 5));
    EXPECT_EQ(r.regions[0].area, 30);
}

TEST(Anomaly_LocalGlobalFlow, batch_equals_one_by_one)
{
    auto detector = channelMixDetector();
    detector->setBatchSize(2);
    RNG rng(12345);
    std::vector<Mat> images;
    for (int i = 0; i < 5; ++i) {
        Mat img(20 + 13 * i, 90 - 9 * i, CV_8UC3);
        rng.fill(img, RNG::UNIFORM, 0, 256);
        images.push_back(img);
    }
    std::vector<AnomalyResult> batch;
    detector->detectBatch(images, batch);
    ASSERT_EQ(batch.size(), images.size());
    for (size_t i = 0; i < images.size(); ++i) {
        AnomalyResult single;
        detector->detect(images[i], single);
        EXPECT_EQ(batch[i].score, single.score);
        EXPECT_EQ(maxAbsDiff(batch[i].anomalyMap, single.anomalyMap), 0);
        EXPECT_EQ(maxAbsDiff(batch[i].localMap, single.localMap), 0);
    }
}

TEST(Anomaly_LocalGlobalFlow, four_threads_with_own_instances_match_sequential)
{
    const std::vector<unsigned char> model = channelMixModel().serialize();
    RNG rng(7);
    std::vector<Mat> images;
    for (int i = 0; i < 12; ++i) {
        Mat img(24 + 5 * i, 40 + 3 * i, CV_8UC3);
        rng.fill(img, RNG::NORMAL, 128, 50);
        images.push_back(img);
    }
    std::vector<AnomalyResult> sequential;
    LocalGlobalFlow::createFromBuffer(model)->detectBatch(images, sequential);

    std::vector<std::vector<AnomalyResult>> perThread(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            auto detector = LocalGlobalFlow::createFromBuffer(model);
            for (const Mat& img : images) {
                AnomalyResult r;
                detector->detect(img, r);
                perThread[t].push_back(r);
            }
        });
    for (auto& th : threads)
        th.join();
    for (int t = 0; t < 4; ++t) {
        ASSERT_EQ(perThread[t].size(), sequential.size());
        for (size_t i = 0; i < images.size(); ++i) {
            EXPECT_EQ(perThread[t][i].score, sequential[i].score);
            EXPECT_EQ(maxAbsDiff(perThread[t][i].anomalyMap, sequential[i].anomalyMap), 0);
            EXPECT_EQ(perThread[t][i].regions.size(), sequential[i].regions.size());
        }
    }
}

TEST(Anomaly_LocalGlobalFlow, cuda_request_without_cuda_falls_back_to_cpu)
{
    if (!dnn::getAvailableTargets(dnn::DNN_BACKEND_CUDA).empty())
        ANOMALY_SKIP_TEST("this OpenCV has a CUDA target; the fallback path is not reachable");
    auto detector = LocalGlobalFlow::createFromBuffer(channelMixModel().serialize(),
                                                      dnn::DNN_BACKEND_CUDA, dnn::DNN_TARGET_CUDA);
    EXPECT_EQ(detector->getBackend(), dnn::DNN_BACKEND_OPENCV);
    EXPECT_EQ(detector->getTarget(), dnn::DNN_TARGET_CPU);
    AnomalyResult r;
    detector->detect(Mat(20, 20, CV_8UC3, Scalar::all(51)), r);
    EXPECT_NEAR(r.score, 0.2f, 1e-6);
    detector->setPreferableTarget(dnn::DNN_TARGET_CUDA_FP16);
    EXPECT_EQ(detector->getTarget(), dnn::DNN_TARGET_CPU);
}

TEST(Anomaly_LocalGlobalFlow, getters_report_the_model_metadata)
{
    auto detector = channelMixDetector();
    EXPECT_EQ(detector->getInputSize(), Size(kTestModelSize, kTestModelSize));
    EXPECT_EQ(detector->getMethod(), "lgnf");
    EXPECT_EQ(detector->getModelSize(), "lite");
    EXPECT_EQ(detector->getBackbone(), "test_identity");
    EXPECT_EQ(detector->getTrainingSummary(), "{\"images\":0}");
    EXPECT_EQ(detector->getFormatVersion(), "1.0");
    EXPECT_EQ(detector->getMetadata("anomaly.color_order"), "BGR");
    EXPECT_EQ(detector->getMetadata("no.such.key"), "");
    EXPECT_EQ(detector->getBackend(), dnn::DNN_BACKEND_OPENCV);
    EXPECT_EQ(detector->getTarget(), dnn::DNN_TARGET_CPU);
    EXPECT_EQ(detector->getBatchSize(), 8);
    EXPECT_THROW(detector->setBatchSize(0), cv::Exception);
}

}  // namespace
}  // namespace opencv_test
