// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// A small "--name value" command-line reader shared by the sample programs.
#ifndef ANOMALY_SAMPLES_COMMAND_LINE_HPP
#define ANOMALY_SAMPLES_COMMAND_LINE_HPP

#include <climits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace anomaly_samples {

/** @brief Thrown for any command-line mistake; the message is one line meant for the user. */
struct UsageError : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

/** @brief One option a program accepts. */
struct OptionSpec
{
    std::string name;          //!< without the leading "--"
    std::string defaultValue;  //!< used when absent; ignored for required options
    std::string help;          //!< one line for the usage text
    bool required = false;
    bool isFlag = false;  //!< takes no value; reads as "1" when given, "0" otherwise
};

/** @brief Parses "--name value" and "--name=value" arguments against a fixed option list.
Unknown options, missing values and missing required options raise UsageError. "--help" or "-h"
sets helpRequested() and skips the required-option check. */
class CommandLine
{
public:
    CommandLine(std::string program, std::string summary, std::vector<OptionSpec> options);

    void parse(int argc, const char* const* argv);

    const std::string& program() const { return program_; }
    bool helpRequested() const { return helpRequested_; }
    std::string usage() const;

    std::string get(const std::string& name) const;
    /** @brief The value as an integer; UsageError when it is not one or is below minimum. */
    int getInt(const std::string& name, int minimum = INT_MIN) const;
    /** @brief The value as a number; UsageError when it is not one. */
    double getDouble(const std::string& name) const;
    /** @brief The value split at commas; UsageError when it is empty or has an empty item. */
    std::vector<std::string> getList(const std::string& name) const;
    bool has(const std::string& name) const;  //!< true when given on the command line

private:
    const OptionSpec& spec(const std::string& name) const;

    std::string program_;
    std::string summary_;
    std::vector<OptionSpec> options_;
    std::map<std::string, std::string> given_;
    bool helpRequested_ = false;
};

}  // namespace anomaly_samples

#endif  // ANOMALY_SAMPLES_COMMAND_LINE_HPP
