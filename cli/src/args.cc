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
      all_values_[name].push_back(values_[name]);
    } else {
      return Status::InvalidArgument("unknown option --" + name);
    }
  }
  return Status::Ok();
}

Status Args::ApplyConfig(const ConfigFile& file,
                         const std::set<std::string>& refused) {
  // Checked in full first, so that a bad file leaves the Args unchanged.
  for (const ConfigLine& l : file.lines) {
    const bool known = refused.count(l.key) == 0 &&
                       (flags_.count(l.key) != 0 || options_.count(l.key) != 0);
    if (!known) {
      std::string keys;
      for (const auto* names : {&options_, &flags_}) {
        for (const std::string& n : *names) {
          if (refused.count(n) == 0) keys += (keys.empty() ? "" : ", ") + n;
        }
      }
      std::string why = file.Where(l.line) + ": unknown key `" + l.key + "`";
      for (const char* secret : {"passphrase", "password", "secret", "token"}) {
        if (l.key.find(secret) != std::string::npos) {
          why += " (no secret belongs in a configuration file)";
          break;
        }
      }
      return Status::InvalidArgument(why + "; the keys are: " + keys);
    }
    if (flags_.count(l.key) != 0 && l.value != "true" && l.value != "false") {
      return Status::InvalidArgument(file.Where(l.line) + ": `" + l.key +
                                     "` is true or false");
    }
  }
  for (const ConfigLine& l : file.lines) {
    if (flags_.count(l.key) != 0) {
      if (l.value == "true" && seen_flags_.insert(l.key).second)
        from_file_[l.key] = file.Where(l.line);
    } else if (values_.emplace(l.key, l.value).second) {
      from_file_[l.key] = file.Where(l.line);
    }
  }
  return Status::Ok();
}

std::string Args::Origin(const std::string& name) const {
  auto it = from_file_.find(name);
  if (it == from_file_.end()) return "--" + name;
  return name + " (" + it->second + ")";
}

bool Args::Has(const std::string& name) const {
  return seen_flags_.count(name) != 0 || values_.count(name) != 0;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = all_values_.find(name);
  return it == all_values_.end() ? std::vector<std::string>() : it->second;
}

}  // namespace tillit::cli
