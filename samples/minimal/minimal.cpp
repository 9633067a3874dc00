// The anomaly API in a nutshell: load a model, score an image, read the verdict.
#include <opencv2/anomaly.hpp>
#include <opencv2/imgcodecs.hpp>

#include <iostream>

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::cerr << "usage: anomaly_minimal <model.onnx> <image>\n";
        return 1;
    }
    try {
        auto detector = cv::anomaly::LocalGlobalFlow::create(argv[1]);
        cv::anomaly::AnomalyResult result;
        detector->detect(cv::imread(argv[2]), result);
        std::cout << (result.isAnomalous ? "NG" : "OK") << "  normalized score "
                  << result.normalizedScore << "  defect regions " << result.regions.size() << "\n";
        return 0;
    } catch (const cv::Exception& e) {
        std::cerr << "anomaly_minimal: " << e.err << "\n";
        return 1;
    }
}
