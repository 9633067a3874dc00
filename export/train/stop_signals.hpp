// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// SIGINT and SIGTERM taken by a thread of their own, never by a thread that computes.
#ifndef ANOMALY_TRAIN_STOP_SIGNALS_HPP
#define ANOMALY_TRAIN_STOP_SIGNALS_HPP

namespace anomaly_train {

/** Blocks SIGINT and SIGTERM in the calling thread, and so in every thread it starts later (they
inherit the mask: LibTorch's, OpenMP's and OpenCV's workers), and starts one detached thread that
leaves them unblocked and only waits. The signals' dispositions are untouched: by default they
still end the process, and a handler installed later runs on that thread (or on one started before
main(), below). Call it first in main(), before anything starts a thread; calling it again changes
nothing.

Why: a signal delivered to a thread inside the oneDNN convolution kernels that LibTorch runs on
the CPU corrupts the heap, whatever its handler does: the segmentation head's training died of
SIGABRT in free() inside libdnnl ("corrupted size vs. prev_size while consolidating") in 7 runs of
10 with a SIGTERM every 20 us from the first segmentation checkpoint on, and within seconds with
SIGUSR1s sent to a handler that does nothing. With the signals routed here, a Ctrl-C or a SIGTERM
only sets the stop flag (test/export TrainTool.RepeatedSigtermsWhileSegmentingStopTheToolCleanly).
Threads started before main() keep their masks (OpenBLAS's pool, idle or in its hand-written BLAS
kernels): with them, repeated SIGTERMs no longer crash the tool. */
void routeStopSignalsToOwnThread();

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_STOP_SIGNALS_HPP
