// `tillit import`: FHIR R4 files and directories into the vault, one
// document at a time. Each import is audited as the operator's before the
// vault writes anything, and the command stops at the first entry that
// cannot be written.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "src/common.h"
#include "src/verbs.h"
#include "tillit/storage/files.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool IsImportable(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".json" || ext == ".ndjson" || ext == ".jsonl";
}

}  // namespace

const char kImportHelp[] =
    R"(Usage: tillit import [--data DIR] [--citizen ID] [--json] FILE|DIR...

Imports FHIR R4 JSON: transaction, batch and collection Bundles (urn:uuid:
references are resolved), single resources, and NDJSON (files ending in
.ndjson or .jsonl). A directory imports every *.json, *.ndjson and *.jsonl
file in it. Each file is all or nothing; a bad file is reported and the
others are still imported. The document's Patient names the citizen, who
is created when new; --citizen ID imports into an existing citizen instead
(needed for documents without a Patient).

--json prints {"citizens": [{"citizen_id", "source_patient", "imported",
"by_type"}], "rejected": [{"file", "error"}]}.
Exit status 1 if any file was rejected.
)";

int CmdImport(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Option("citizen");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "import", s.message());
  if (a.Has("help")) return io.out << kImportHelp, kOk;
  if (a.positional().empty())
    return Usage(io, "import", "name at least one FILE or DIR");

  // Expand directories.
  std::vector<std::string> files;
  json rejected = json::array();
  for (const std::string& arg : a.positional()) {
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<std::string> inside;
      for (const auto& e : fs::directory_iterator(arg, ec)) {
        if (e.is_regular_file() && IsImportable(e.path()))
          inside.push_back(e.path().string());
      }
      std::sort(inside.begin(), inside.end());
      if (inside.empty()) {
        rejected.push_back(
            {{"file", arg},
             {"error", "no .json, .ndjson or .jsonl files in directory"}});
      }
      files.insert(files.end(), inside.begin(), inside.end());
    } else {
      files.push_back(arg);
    }
  }

  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, "import", setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, "import", v.status());
  auto log = OpenAuditLog(**v);
  if (!log.ok()) {
    return Fail(io, "import",
                log.status().WithContext(
                    "cannot open the audit log, so nothing was imported"));
  }

  std::vector<std::string> order;
  std::map<std::string, json> citizens;
  Progress progress(io);
  size_t bytes_total = 0, resources_total = 0;
  const auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string& file = files[i];
    auto text = storage::ReadFileLimited(
        file, setup->options.limits.max_document_bytes);
    StatusOr<vault::ImportOutcome> outcome = text.status();
    // The entry is durable before the vault writes anything: no entry, no
    // import (fail closed, as the server does).
    Status audit_failure;
    auto audit_first = [&](const std::string& citizen_id) {
      audit_failure =
          (*log)->Append(OperatorEntry("records.import", citizen_id)).status();
      return audit_failure;
    };
    if (text.ok()) {
      const std::string ext = fs::path(file).extension().string();
      const auto format = (ext == ".ndjson" || ext == ".jsonl")
                              ? vault::ImportFormat::kNdjson
                              : vault::ImportFormat::kJson;
      outcome =
          (*v)->Import(*text, format, a.Get("citizen"), "import", audit_first);
      bytes_total += text->size();
    }
    if (!audit_failure.ok()) {
      progress.Done();
      return Fail(io, "import",
                  audit_failure.WithContext(
                      "cannot write the audit log, so nothing was imported "
                      "from " +
                      file));
    }
    if (!outcome.ok()) {
      rejected.push_back(
          {{"file", file}, {"error", outcome.status().message()}});
      if (!a.Has("json")) {
        progress.Done();
        io.err << "rejected " << file << ": " << outcome.status().message()
               << "\n";
      }
    } else {
      resources_total += outcome->imported;
      auto [it, fresh] = citizens.try_emplace(outcome->citizen_id);
      json& c = it->second;
      if (fresh) {
        order.push_back(outcome->citizen_id);
        c = {{"citizen_id", outcome->citizen_id},
             {"source_patient", outcome->source_patient},
             {"imported", 0},
             {"by_type", json::object()}};
      }
      c["imported"] = c["imported"].get<size_t>() + outcome->imported;
      for (const auto& [type, n] : outcome->by_type) {
        c["by_type"][type] = c["by_type"].value(type, size_t{0}) + n;
      }
      if (!a.Has("json")) {
        progress.Done();
        io.out << file << " -> " << outcome->citizen_id
               << (outcome->created ? " (new)" : "") << ": "
               << outcome->imported << " resources, " << outcome->written
               << " new or changed\n";
      }
    }
    const double secs = std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    std::ostringstream line;
    line << "importing " << (i + 1) << "/" << files.size() << " files, "
         << bytes_total / (1024 * 1024) << " MiB, " << resources_total
         << " resources";
    if (secs > 0.5)
      line << ", " << static_cast<int>(bytes_total / secs / (1024 * 1024))
           << " MiB/s";
    progress.Show(line.str());
  }
  progress.Done();
  if (a.Has("json")) {
    json list = json::array();
    for (const auto& id : order) list.push_back(citizens[id]);
    io.out << json{{"citizens", list}, {"rejected", rejected}}.dump() << "\n";
  }
  if (auto note = (*log)->SignedCheckpoint(); !note.ok()) {
    return Fail(io, "import", note.status());
  }
  if (!a.Has("json")) {
    io.out << "imported " << resources_total << " resources for "
           << order.size() << " citizen(s); " << rejected.size()
           << " file(s) rejected\n";
  }
  return rejected.empty() ? kOk : kFailed;
}

}  // namespace tillit::cli
