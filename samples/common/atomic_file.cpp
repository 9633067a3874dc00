// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "atomic_file.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>

namespace anomaly_samples {
namespace {

namespace fs = std::filesystem;

/** The pid in `<name>.tmp.<pid>`, or 0 when `candidate` is not a temporary of `name`. */
pid_t temporaryOwner(const std::string& candidate, const std::string& name)
{
    const std::string prefix = name + ".tmp.";
    if (candidate.size() <= prefix.size() || candidate.compare(0, prefix.size(), prefix) != 0)
        return 0;
    const std::string digits = candidate.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos)
        return 0;
    return static_cast<pid_t>(std::stol(digits));
}

}  // namespace

void removeTemporariesOfDeadWriters(const std::string& path)
{
    const fs::path destination(path);
    const fs::path folder = destination.has_parent_path() ? destination.parent_path() : ".";
    const std::string name = destination.filename().string();
    std::error_code error;
    for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
        const pid_t owner = temporaryOwner(it->path().filename().string(), name);
        if (owner > 0 && owner != ::getpid() && ::kill(owner, 0) != 0 && errno == ESRCH) {
            std::error_code ignored;
            fs::remove(it->path(), ignored);
        }
    }
}

void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::string& temporary)>& write)
{
    removeTemporariesOfDeadWriters(path);
    const std::string temporary = path + ".tmp." + std::to_string(::getpid());
    try {
        write(temporary);
    } catch (...) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw;
    }
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw std::runtime_error("cannot write " + path + ": " + error.message());
    }
}

}  // namespace anomaly_samples
