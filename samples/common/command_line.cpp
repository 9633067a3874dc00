// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "command_line.hpp"

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace anomaly_samples {

CommandLine::CommandLine(std::string program, std::string summary, std::vector<OptionSpec> options)
    : program_(std::move(program)), summary_(std::move(summary)), options_(std::move(options))
{
}

const OptionSpec& CommandLine::spec(const std::string& name) const
{
    for (const OptionSpec& option : options_)
        if (option.name == name)
            return option;
    throw UsageError("unknown option --" + name + " (see --help)");
}

void CommandLine::parse(int argc, const char* const* argv)
{
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            helpRequested_ = true;
            return;
        }
        if (arg.rfind("--", 0) != 0)
            throw UsageError("unexpected argument '" + arg + "' (options start with --)");
        std::string name = arg.substr(2);
        std::string value;
        bool hasInlineValue = false;
        const size_t eq = name.find('=');
        if (eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            hasInlineValue = true;
        }
        const OptionSpec& option = spec(name);
        if (option.isFlag) {
            if (hasInlineValue)
                throw UsageError("option --" + name + " takes no value");
            value = "1";
        } else if (!hasInlineValue) {
            if (i + 1 >= argc)
                throw UsageError("option --" + name + " needs a value");
            value = argv[++i];
        }
        given_[name] = value;
    }
    for (const OptionSpec& option : options_)
        if (option.required && !given_.count(option.name))
            throw UsageError("missing required option --" + option.name + " (see --help)");
}

std::string CommandLine::usage() const
{
    std::ostringstream out;
    out << program_ << ": " << summary_ << "\n\nOptions:\n";
    for (const OptionSpec& option : options_) {
        std::string left = "  --" + option.name + (option.isFlag ? "" : " <value>");
        if (left.size() < 26)
            left.resize(26, ' ');
        out << left << " " << option.help;
        if (option.required)
            out << " (required)";
        else if (!option.isFlag && !option.defaultValue.empty())
            out << " (default " << option.defaultValue << ")";
        out << "\n";
    }
    return out.str();
}

std::string CommandLine::get(const std::string& name) const
{
    const OptionSpec& option = spec(name);
    auto it = given_.find(name);
    if (it != given_.end())
        return it->second;
    return option.isFlag ? "0" : option.defaultValue;
}

int CommandLine::getInt(const std::string& name, int minimum) const
{
    const std::string text = get(name);
    char* end = nullptr;
    const long value = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || value < -2147483647L || value > 2147483647L)
        throw UsageError("option --" + name + " needs an integer, got '" + text + "'");
    if (value < minimum)
        throw UsageError("option --" + name + " must be >= " + std::to_string(minimum) + ", got " +
                         text);
    return static_cast<int>(value);
}

double CommandLine::getDouble(const std::string& name) const
{
    const std::string text = get(name);
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(value))
        throw UsageError("option --" + name + " needs a number, got '" + text + "'");
    return value;
}

std::vector<std::string> CommandLine::getList(const std::string& name) const
{
    const std::string text = get(name);
    std::vector<std::string> items;
    size_t begin = 0;
    while (true) {
        const size_t comma = text.find(',', begin);
        items.push_back(text.substr(begin, comma - begin));
        if (items.back().empty())
            throw UsageError("option --" + name +
                             " needs a comma-separated list without empty "
                             "items, got '" +
                             text + "'");
        if (comma == std::string::npos)
            return items;
        begin = comma + 1;
    }
}

bool CommandLine::has(const std::string& name) const
{
    spec(name);
    return given_.count(name) != 0;
}

}  // namespace anomaly_samples
