// Vault: importing FHIR documents (SPEC §3), atomic per document, and the
// registry's link from a source Patient to its citizen.
#include <utility>

#include "tillit/crypto/encoding.h"
#include "tillit/vault/source_tag.h"
#include "tillit/vault/vault.h"
#include "vault_internals.h"

namespace tillit::vault {

StatusOr<std::string> Vault::FindCitizenByPatient(std::string_view patient_id) {
  TILLIT_ASSIGN_OR_RETURN(
      crypto::Digest key,
      crypto::KeyedHash(in_->patient_index_key, crypto::AsBytes(patient_id)));
  TILLIT_ASSIGN_OR_RETURN(std::optional<std::string> citizen,
                          in_->registry->FindPatient(key));
  if (!citizen) return Status::NotFound("no citizen has this Patient");
  return std::move(*citizen);
}

StatusOr<ImportOutcome> Vault::Import(
    std::string_view bytes, ImportFormat format,
    const std::optional<std::string>& citizen_id, std::string_view source,
    const BeforeImportWrite& before_write) {
  auto parsed = format == ImportFormat::kNdjson
                    ? fhir::ParseFhirNdjson(bytes, in_->options.limits)
                    : fhir::ParseFhirDocument(bytes, in_->options.limits);
  if (!parsed.ok()) return parsed.status();
  fhir::ParsedDocument& doc = *parsed;
  if (doc.resources.empty()) {
    return Status::InvalidArgument("the document holds no resources");
  }
  if (source != "import") {
    // The citizen's or a provider's: tagged as theirs, whatever source the
    // document claimed (source_tag.h). The operator's import is as written.
    for (fhir::ParsedResource& r : doc.resources) {
      auto tagged = TagBySource(r.json, source);
      if (!tagged.ok()) {
        return Status(tagged.status().code(),
                      r.type + "/" + r.id + ": " + tagged.status().message());
      }
      r.json = std::move(tagged).value();
    }
  }

  ImportOutcome out;
  if (doc.patient_index)
    out.source_patient = doc.resources[*doc.patient_index].id;
  if (citizen_id) {
    if (!IsValidId(*citizen_id, "c_"))
      return Status::NotFound("no such citizen");
    out.citizen_id = *citizen_id;
    if (before_write) TILLIT_RETURN_IF_ERROR(before_write(out.citizen_id));
    if (!out.source_patient.empty()) {
      // Link the Patient to this citizen, or check it is already theirs.
      TILLIT_ASSIGN_OR_RETURN(
          crypto::Digest key,
          crypto::KeyedHash(in_->patient_index_key,
                            crypto::AsBytes(out.source_patient)));
      TILLIT_RETURN_IF_ERROR(in_->registry->LinkPatient(*citizen_id, key));
    }
  } else {
    if (out.source_patient.empty()) {
      return Status::InvalidArgument(
          "the document has no Patient resource, so it names no citizen; "
          "import it into an existing citizen instead");
    }
    TILLIT_ASSIGN_OR_RETURN(
        crypto::Digest key,
        crypto::KeyedHash(in_->patient_index_key,
                          crypto::AsBytes(out.source_patient)));
    // A new Patient becomes a new citizen in two durable steps (file, then
    // registry). A concurrent import of the same Patient makes the
    // registration fail; the second attempt then finds it.
    for (int attempt = 0; attempt < 2 && out.citizen_id.empty(); ++attempt) {
      TILLIT_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                              in_->registry->FindPatient(key));
      if (existing) {
        if (before_write) TILLIT_RETURN_IF_ERROR(before_write(*existing));
        out.citizen_id = *existing;
        break;
      }
      auto created =
          in_->CreateCitizen(key, doc.resources, source, before_write);
      if (created.ok()) {
        out.citizen_id = created->first;
        out.created = true;
        out.imported = doc.resources.size();
        out.written = created->second.written;
        out.by_type = std::move(created->second.by_type);
        return out;
      }
      if (created.status().code() != StatusCode::kAlreadyExists)
        return created.status();
    }
    if (out.citizen_id.empty())
      return Status::Internal("citizen registration raced");
  }

  TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizen(out.citizen_id));
  TILLIT_ASSIGN_OR_RETURN(
      PutResult stored,
      store->Put(doc.resources, source, in_->options.clock->NowSeconds()));
  out.imported = doc.resources.size();
  out.written = stored.written;
  out.by_type = std::move(stored.by_type);
  return out;
}

}  // namespace tillit::vault
