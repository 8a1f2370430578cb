#include "tillit/research/release.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "cohort.h"
#include "tillit/audit/checkpoint.h"
#include "tillit/consent/policy.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/random.h"
#include "tillit/research/deidentify.h"
#include "tillit/research/sealed.h"

namespace tillit::research {
namespace {

using nlohmann::json;

constexpr std::string_view kReleaseKind = "release";

// A stored record the de-identifier refuses (not a FHIR resource object)
// means the store holds what import and the API never write.
Status Unreleasable(const Status& s) {
  if (s.code() != StatusCode::kInvalidArgument) return s;
  return Status::DataLoss("a stored record cannot be released: " + s.message());
}

// One citizen's part of the release, before it is streamed.
struct CitizenPart {
  bool in_cohort = false;
  std::map<std::string, std::string> lines;  // member name -> NDJSON
  std::map<std::string, int64_t> by_category;
  std::map<std::string, int64_t> by_type;
  std::vector<std::string> grant_ids;
};

// The citizen's released records, de-identified, when they are in the
// study's cohort.
Status ReadCitizen(vault::CitizenStore& store, const ReleaseInput& in,
                   const Pseudonymiser& pseudonyms, CitizenPart* out) {
  internal::CohortMember member;
  TILLIT_RETURN_IF_ERROR(internal::ReadCohortMember(
      store, *in.researcher, *in.study, in.now, &member));
  if (!member.in_cohort) return Status::Ok();
  for (uint32_t g : member.decision.permitting)
    out->grant_ids.push_back(member.policy.grants[g].id);
  const std::vector<vault::StoredRecord>& released = member.released;
  const std::string& patient_id = member.patient_id;

  out->in_cohort = true;
  // Two passes: the names of what is released first, so that the second
  // can remove every reference to a resource that is not in the release
  // (an encounter, a practitioner, a record the grants hold back) while it
  // writes each line.
  const Deidentifier deidentifier(store.citizen_id(), patient_id, pseudonyms);
  Deidentifier::ReleasedNames present;
  present.reserve(released.size());
  for (const vault::StoredRecord& r : released) {
    StatusOr<std::string> name = deidentifier.ReleasedName(r.resource);
    if (!name.ok()) return Unreleasable(name.status());
    present.insert(std::move(name).value());
  }
  for (const vault::StoredRecord& r : released) {
    std::string& member = out->lines[r.type + ".ndjson"];
    if (Status s = deidentifier.Append(r.resource, &present, &member);
        !s.ok()) {
      return Unreleasable(s);
    }
    member += '\n';
    ++out->by_category[std::string(fhir::CategoryName(r.category))];
    ++out->by_type[r.type];
  }
  return Status::Ok();
}

// The IoError of a failed step on the release file, with the Env's reason
// (which names the file by its last component only).
Status ReleaseFileError(const std::string& what, const Status& cause) {
  return Status::IoError(what + ": " + cause.message());
}

// A new file, written through `env`, that is removed unless Keep() is
// called.
class PartialFile {
 public:
  PartialFile(Env* env, std::string path) : env_(env), path_(std::move(path)) {}
  ~PartialFile() {
    if (file_ != nullptr) (void)file_->Close();
    if (created_ && !kept_) (void)env_->RemoveFile(path_);
  }
  Status Open() {
    StatusOr<std::unique_ptr<WritableFile>> file =
        env_->NewWritableFile(path_, 0600, /*exclusive=*/true);
    if (!file.ok()) {
      return ReleaseFileError("cannot create the release file", file.status());
    }
    file_ = std::move(file).value();
    created_ = true;
    return Status::Ok();
  }
  Status Write(std::span<const uint8_t> bytes) {
    if (Status s = file_->Append(bytes); !s.ok()) {
      return ReleaseFileError("cannot write the release file", s);
    }
    written_ += bytes.size();
    return Status::Ok();
  }
  // Syncs, closes and renames to `final_path`, then syncs the directory
  // (best effort).
  Status Keep(const std::string& final_path) {
    Status s = file_->Sync();
    Status closed = file_->Close();
    file_.reset();
    if (s.ok()) s = closed;
    if (!s.ok()) return ReleaseFileError("cannot sync the release file", s);
    if (Status r = env_->RenameFile(path_, final_path); !r.ok()) {
      return ReleaseFileError("cannot move the release file into place", r);
    }
    kept_ = true;
    (void)env_->SyncDirectory(DirectoryOf(final_path));
    return Status::Ok();
  }
  uint64_t written() const { return written_; }

 private:
  Env* const env_;
  const std::string path_;
  std::unique_ptr<WritableFile> file_;
  bool created_ = false;
  bool kept_ = false;
  uint64_t written_ = 0;
};

json StudyManifest(const consent::StudyDefinition& s) {
  json categories = json::array();
  for (fhir::Category c : fhir::AllCategories()) {
    if ((s.study.categories & consent::CategoryBit(c)) != 0)
      categories.push_back(fhir::CategoryName(c));
  }
  json purpose = {{"code", consent::DuoId(s.study.purpose.purpose)}};
  if (!s.study.purpose.disease.empty())
    purpose["disease"] = s.study.purpose.disease;
  return {{"id", s.study.id},
          {"title", s.title},
          {"purpose", std::move(purpose)},
          {"categories", std::move(categories)},
          {"criteria", json::parse(s.criteria_json, nullptr, false)},
          {"ethics_approval", s.study.ethics_approval}};
}

}  // namespace

std::string ReleaseInfoToJson(const ReleaseInfo& r) {
  return json{{"id", r.id},
              {"study_id", r.study_id},
              {"researcher_id", r.researcher_id},
              {"created", r.created},
              {"cohort_size", r.cohort_size},
              {"audit_index", r.audit_index},
              {"by_category", r.by_category},
              {"by_type", r.by_type},
              {"ndjson_bytes", r.ndjson_bytes},
              {"sealed_bytes", r.sealed_bytes}}
      .dump();
}

StatusOr<ReleaseInfo> ReleaseInfoFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::DataLoss("stored release is malformed");
  try {
    ReleaseInfo r;
    r.id = j.at("id").get<std::string>();
    r.study_id = j.at("study_id").get<std::string>();
    r.researcher_id = j.at("researcher_id").get<std::string>();
    r.created = j.at("created").get<int64_t>();
    r.cohort_size = j.at("cohort_size").get<int64_t>();
    r.audit_index = j.at("audit_index").get<uint64_t>();
    r.by_category = j.at("by_category").get<std::map<std::string, int64_t>>();
    r.by_type = j.at("by_type").get<std::map<std::string, int64_t>>();
    r.ndjson_bytes = j.at("ndjson_bytes").get<uint64_t>();
    r.sealed_bytes = j.at("sealed_bytes").get<uint64_t>();
    return r;
  } catch (const json::exception&) {
    return Status::DataLoss("stored release is malformed");
  }
}

StatusOr<crypto::SecretBytes> StudyKey(vault::Vault& vault,
                                       std::string_view study_id) {
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes base,
                          vault.DeriveKey(crypto::KdfContext::kStudyKeys, 1));
  std::string message = "tillit study pseudonym key\n";
  message += study_id;
  return crypto::KeyedHashSecret(base, crypto::AsBytes(message));
}

std::string ReleasePath(const vault::Vault& vault,
                        std::string_view release_id) {
  return vault.data_dir() + "/releases/" + std::string(release_id) + ".tillit";
}

StatusOr<ReleaseInfo> GetRelease(vault::Vault& vault,
                                 const std::string& release_id) {
  TILLIT_ASSIGN_OR_RETURN(std::string text,
                          vault.GetDirectoryEntry(kReleaseKind, release_id));
  return ReleaseInfoFromJson(text);
}

StatusOr<std::vector<ReleaseInfo>> ListReleases(vault::Vault& vault,
                                                std::string_view study_id) {
  TILLIT_ASSIGN_OR_RETURN(auto rows, vault.ListDirectory(kReleaseKind));
  std::vector<ReleaseInfo> out;
  for (const auto& [id, text] : rows) {
    TILLIT_ASSIGN_OR_RETURN(ReleaseInfo r, ReleaseInfoFromJson(text));
    if (r.study_id == study_id) out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ReleaseInfo& a, const ReleaseInfo& b) {
                     return a.created < b.created;
                   });
  return out;
}

StatusOr<ReleaseInfo> MakeRelease(vault::Vault& vault,
                                  vault::StoreAccess& stores,
                                  audit::AuditLog& log, const ReleaseInput& in,
                                  const AuditBatch& audit) {
  if (in.study == nullptr || in.researcher == nullptr)
    return Status::InvalidArgument("a release needs a study and a researcher");
  if (!vault::IsValidId(in.release_id, "rel_"))
    return Status::InvalidArgument("release id must look like rel_…");
  auto pk_bytes = crypto::Base64Decode(in.researcher->public_key);
  if (!pk_bytes.ok() || pk_bytes->size() != crypto::kX25519PublicKeySize) {
    return Status::FailedPrecondition(
        "the researcher has no public key to seal releases to");
  }
  crypto::X25519PublicKey recipient;
  std::copy(pk_bytes->begin(), pk_bytes->end(), recipient.begin());

  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes study_key,
                          StudyKey(vault, in.study->study.id));
  TILLIT_ASSIGN_OR_RETURN(const Pseudonymiser pseudonyms,
                          Pseudonymiser::Create(study_key));

  const std::string final_path = ReleasePath(vault, in.release_id);
  const std::string releases_dir = DirectoryOf(final_path);
  if (!in.env->CreateDirectories(releases_dir).ok())
    return Status::IoError("cannot create the releases directory");
  ::chmod(releases_dir.c_str(), 0700);
  PartialFile file(
      in.env, vault.data_dir() + "/releases/." + in.release_id + ".partial");
  TILLIT_RETURN_IF_ERROR(file.Open());
  crypto::EnvRandom random(in.env);
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<SealedWriter> writer,
      SealedWriter::Start(
          recipient,
          [&file](std::span<const uint8_t> b) { return file.Write(b); },
          random));

  ReleaseInfo info;
  info.id = in.release_id;
  info.study_id = in.study->study.id;
  info.researcher_id = in.researcher->id;
  info.created = in.now;
  std::vector<audit::AuditEntry> entries;
  const std::string purpose(consent::DuoId(in.study->study.purpose.purpose));
  auto entry = [&](std::string citizen) {
    return internal::ResearchEntry("research.release", *in.researcher,
                                   *in.study, std::move(citizen), in.now,
                                   in.request_id);
  };

  size_t done = 0;
  const auto go_on = [&] {
    return !in.progress || in.progress(done, in.candidates.size());
  };
  for (const std::string& citizen : in.candidates) {
    if (!go_on())
      return Status::FailedPrecondition("the release was cancelled");
    ++done;
    CitizenPart part;
    Status s = stores.With(citizen, [&](vault::CitizenStore& store) {
      return ReadCitizen(store, in, pseudonyms, &part);
    });
    // Erased since the index was read: not in the cohort.
    if (s.code() == StatusCode::kNotFound) s = Status::Ok();
    TILLIT_RETURN_IF_ERROR(s);
    if (part.in_cohort) {
      for (const auto& [member, lines] : part.lines) {
        TILLIT_RETURN_IF_ERROR(writer->Append(member, lines));
        info.ndjson_bytes += lines.size();
      }
      audit::AuditEntry e = entry(citizen);
      for (const auto& [category, n] : part.by_category) {
        e.categories.push_back(category);
        info.by_category[category] += n;
      }
      for (const auto& [type, n] : part.by_type) info.by_type[type] += n;
      e.grant_ids = std::move(part.grant_ids);
      entries.push_back(std::move(e));
      ++info.cohort_size;
    }
  }

  if (!go_on()) return Status::FailedPrecondition("the release was cancelled");

  // The release's own entry, last: its index is the release's.
  audit::AuditEntry release_entry = entry("");
  for (const auto& [category, n] : info.by_category)
    release_entry.categories.push_back(category);
  entries.push_back(std::move(release_entry));
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint64_t> indexes, audit(entries));
  if (indexes.size() != entries.size())
    return Status::Internal("audit returned the wrong number of indexes");
  info.audit_index = indexes.back();

  TILLIT_ASSIGN_OR_RETURN(std::string note, log.SignedCheckpoint());
  TILLIT_ASSIGN_OR_RETURN(
      audit::Checkpoint checkpoint,
      audit::OpenCheckpoint(note, log.key_name(), log.public_key()));
  TILLIT_ASSIGN_OR_RETURN(
      std::vector<audit::Hash> proof,
      log.InclusionProof(info.audit_index, checkpoint.size));
  json proof_json = json::array();
  for (const audit::Hash& h : proof)
    proof_json.push_back(crypto::Base64Encode(h));

  json obligations = json::array();
  for (consent::ConditionCode c : in.study->study.obligations)
    obligations.push_back(consent::DuoId(c));
  json files = json::array();
  for (const auto& [type, n] : info.by_type) files.push_back(type + ".ndjson");
  const json manifest = {{"release_id", info.id},
                         {"study", StudyManifest(*in.study)},
                         {"purpose", purpose},
                         {"obligations", std::move(obligations)},
                         {"release_time", internal::IsoTime(in.now)},
                         {"cohort_size", info.cohort_size},
                         {"by_category", info.by_category},
                         {"by_type", info.by_type},
                         {"files", std::move(files)},
                         {"audit",
                          {{"index", info.audit_index},
                           {"checkpoint", note},
                           {"tree_size", checkpoint.size},
                           {"inclusion_proof", std::move(proof_json)},
                           {"verifier_key", log.verifier_key()}}}};
  TILLIT_RETURN_IF_ERROR(writer->Append("manifest.json", manifest.dump(2)));
  TILLIT_RETURN_IF_ERROR(writer->Finish());
  info.sealed_bytes = file.written();
  TILLIT_RETURN_IF_ERROR(file.Keep(final_path));
  Status listed =
      vault.PutDirectoryEntry(kReleaseKind, info.id, ReleaseInfoToJson(info));
  if (!listed.ok()) {
    (void)in.env->RemoveFile(final_path);
    return listed;
  }
  return info;
}

}  // namespace tillit::research
