// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "test_precomp.hpp"

#ifdef ANOMALY_STANDALONE_TESTS
int main(int argc, char** argv)
{
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
#else
CV_TEST_MAIN("cv")
#endif
