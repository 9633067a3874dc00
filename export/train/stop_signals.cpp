// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "stop_signals.hpp"

#include <pthread.h>
#include <unistd.h>
#include <csignal>
#include <mutex>
#include <thread>

namespace anomaly_train {

namespace {

sigset_t stopSignals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

}  // namespace

void routeStopSignalsToOwnThread()
{
    static std::once_flag started;
    std::call_once(started, [] {
        const sigset_t set = stopSignals();
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        std::thread([set] {
            pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
            for (;;)
                ::pause();
        }).detach();
    });
}

}  // namespace anomaly_train
