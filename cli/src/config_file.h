// ConfigFile: a configuration file of `key = value` lines, as
// `tillit serve --config FILE` reads it (the Debian package's is
// /etc/tillit/tillit.conf).
//
//   # the service's settings
//   listen = 127.0.0.1:8443
//   data = /var/lib/tillit
//   quiet = false
//
// A line is blank, a comment (`#` first), or `key = value` with spaces
// around `=` optional. Keys are lower-case letters, digits and dashes;
// each key once. A value runs to the end of the line, taken literally
// (no quotes, no escapes, no comment after it). Which keys exist and what
// their values mean is the caller's business (Args::ApplyConfig).
//
// The file names the data directory and key file a server opens, so it
// must be a regular file that neither its group nor others may write. It
// holds no secret, so anyone may read it.
//
// Thread-safety: a ConfigFile is a value; share it read-only.
#ifndef TILLIT_CLI_SRC_CONFIG_FILE_H_
#define TILLIT_CLI_SRC_CONFIG_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"

namespace tillit::cli {

struct ConfigLine {
  std::string key;
  std::string value;  // never empty
  int line = 0;       // 1 for the file's first line
};

struct ConfigFile {
  std::string path;               // as the user named it, for messages
  std::vector<ConfigLine> lines;  // in the file's order

  // `PATH line N`, to begin a message about a line.
  std::string Where(int line) const;
};

// Larger files are refused: a configuration file is a few lines.
constexpr size_t kMaxConfigFileBytes = 64 * 1024;

// Parses the text of the file `path` (used only in messages). Errors are
// InvalidArgument naming the file and line: a line that is not
// `key = value`, a key with dashes in front or other characters, an empty
// value, a quoted value, a `#` in a value, a key given twice, or a
// control character. Messages quote keys, never values.
StatusOr<ConfigFile> ParseConfigFile(std::string_view text,
                                     const std::string& path);

// Reads and parses the file at `path`. InvalidArgument when it cannot be
// opened or read, is not a regular file, may be written by its group or by
// others, or is larger than kMaxConfigFileBytes; then as ParseConfigFile.
StatusOr<ConfigFile> LoadConfigFile(const std::string& path);

}  // namespace tillit::cli

#endif  // TILLIT_CLI_SRC_CONFIG_FILE_H_
