// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// SIGINT and SIGTERM taken by a thread of their own, never by a thread that computes.
#ifndef ANOMALY_TRAIN_STOP_SIGNALS_HPP
#define ANOMALY_TRAIN_STOP_SIGNALS_HPP

namespace anomaly_train {

/** Blocks SIGINT and SIGTERM in the calling thread, and so in every thread it starts later (they
inherit the mask: LibTorch's, OpenMP's and OpenCV's workers), and starts one detached thread that
leaves them unblocked and only waits. The signals' dispositions are untouched: by default they
still end the process, and a handler installed later runs on that thread. Call it first in main(),
before anything starts a thread; calling it again changes nothing.

Why: the kernel delivers a signal by pushing its frame on the stack of the thread it interrupts,
and the oneDNN convolution kernels LibTorch runs on the CPU do not survive that: the segmentation
head's training, interrupted by SIGTERMs, died of heap corruption in free() inside libdnnl
("corrupted size vs. prev_size while consolidating", 7 runs in 10 with a SIGTERM every 20 us from
the first segmentation checkpoint on; test/export TrainTool.RepeatedSigtermWhileSegmenting...).
With the signals routed here, a Ctrl-C or a SIGTERM only sets the stop flag. Threads started before
main() keep their masks (OpenBLAS's pool, idle or in hand-written BLAS kernels): the repeated
SIGTERMs no longer crash the tool with them. */
void routeStopSignalsToOwnThread();

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_STOP_SIGNALS_HPP
