#include "src/args.h"

namespace tillit::cli {

Args& Args::Flag(const std::string& name) {
  flags_.insert(name);
  return *this;
}

Args& Args::Option(const std::string& name) {
  options_.insert(name);
  return *this;
}

Status Args::Parse(int argc, char** argv, int first) {
  bool options_done = false;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg.rfind("--", 0) != 0) {
      if (!options_done && arg.size() >= 2 && arg[0] == '-' && arg != "-") {
        return Status::InvalidArgument("unknown option " + arg);
      }
      positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (flags_.count(name) != 0) {
      if (inline_value) {
        return Status::InvalidArgument("--" + name + " takes no value");
      }
      seen_flags_.insert(name);
    } else if (options_.count(name) != 0) {
      if (inline_value) {
        values_[name] = *inline_value;
      } else if (i + 1 < argc) {
        values_[name] = argv[++i];
      } else {
        return Status::InvalidArgument("--" + name + " needs a value");
      }
    } else {
      return Status::InvalidArgument("unknown option --" + name);
    }
  }
  return Status::Ok();
}

bool Args::Has(const std::string& name) const {
  return seen_flags_.count(name) != 0 || values_.count(name) != 0;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

}  // namespace tillit::cli
