// Args: a small, strict command-line parser for the tillit verbs.
//
// Options are declared up front; anything undeclared is a usage error, as
// is a missing value. `--name=value` and `--name value` are both accepted;
// `--` ends option parsing.
//
// Thread-safety: not shared between threads.
#ifndef TILLIT_CLI_SRC_ARGS_H_
#define TILLIT_CLI_SRC_ARGS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tillit/base/status.h"

namespace tillit::cli {

class Args {
 public:
  // Declares a flag (no value) or an option taking a value.
  Args& Flag(const std::string& name);
  Args& Option(const std::string& name);

  // Parses argv[first..]. Errors are InvalidArgument with a message for
  // the user.
  Status Parse(int argc, char** argv, int first);

  bool Has(const std::string& name) const;
  std::optional<std::string> Get(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::set<std::string> flags_;
  std::set<std::string> options_;
  std::set<std::string> seen_flags_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace tillit::cli

#endif  // TILLIT_CLI_SRC_ARGS_H_
