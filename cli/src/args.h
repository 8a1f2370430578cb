// Args: a small, strict command-line parser for the tillit verbs.
//
// Options are declared up front; anything undeclared is a usage error, as
// is a missing value. `--name=value` and `--name value` are both accepted;
// `--` ends option parsing. A configuration file (config_file.h) may give
// values too, as if its lines were flags written before the command
// line's (ApplyConfig).
//
// Thread-safety: not shared between threads.
#ifndef TILLIT_CLI_SRC_ARGS_H_
#define TILLIT_CLI_SRC_ARGS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "src/config_file.h"
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

  // Takes the lines of a configuration file as if they were flags written
  // before the command line's, so a flag on the command line wins. A key
  // names a declared option (the line's value is its value) or flag (the
  // value is `true` or `false`; `false` leaves it unset). Call after
  // Parse. InvalidArgument naming the file and line for a key that is not
  // declared or is in `refused` (such as `config` itself), and for a flag
  // whose value is neither `true` nor `false`; then nothing is taken.
  Status ApplyConfig(const ConfigFile& file,
                     const std::set<std::string>& refused);

  bool Has(const std::string& name) const;
  std::optional<std::string> Get(const std::string& name) const;
  // Every value an option was given on the command line, in order (Get
  // gives the last).
  std::vector<std::string> GetAll(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // How the user gave `name`, to begin a message about its value:
  // `--name`, or `name (FILE line N)` when the value came from a
  // configuration file.
  std::string Origin(const std::string& name) const;

 private:
  std::set<std::string> flags_;
  std::set<std::string> options_;
  std::set<std::string> seen_flags_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
  std::map<std::string, std::string> from_file_;  // name -> `FILE line N`
  std::vector<std::string> positional_;
};

}  // namespace tillit::cli

#endif  // TILLIT_CLI_SRC_ARGS_H_
