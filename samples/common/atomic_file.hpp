// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef ANOMALY_SAMPLES_ATOMIC_FILE_HPP
#define ANOMALY_SAMPLES_ATOMIC_FILE_HPP

#include <functional>
#include <string>

namespace anomaly_samples {

/** Writes `path` so that readers only ever see the old file or the complete new one.
 *
 * `write` fills the temporary `<path>.tmp.<pid>`, which is then renamed over `path`; on any failure
 * the temporary is removed and std::runtime_error names `path`. A writer killed outright (SIGKILL,
 * OOM killer, power loss) cannot remove its own temporary, so temporaries of `path` whose process
 * no longer exists are removed before each write. */
void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::string& temporary)>& write);

/** Removes the temporaries `<path>.tmp.<pid>` whose writing process no longer exists. */
void removeTemporariesOfDeadWriters(const std::string& path);

}  // namespace anomaly_samples

#endif  // ANOMALY_SAMPLES_ATOMIC_FILE_HPP
