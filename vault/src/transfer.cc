#include "tillit/vault/transfer.h"

#include <string>

namespace tillit::vault {
namespace {

bool SameRecord(const StoredRecord& a, const StoredRecord& b) {
  return a.type == b.type && a.id == b.id && a.category == b.category &&
         a.effective == b.effective && a.sensitive == b.sensitive &&
         a.source == b.source && a.updated_at == b.updated_at &&
         a.resource == b.resource && a.codes == b.codes;
}

bool SameVersion(const RecordVersion& a, const RecordVersion& b) {
  return a.version == b.version && a.source == b.source &&
         a.recorded_at == b.recorded_at && a.superseded_at == b.superseded_at &&
         a.superseded_by == b.superseded_by && a.note == b.note &&
         a.resource == b.resource;
}

bool SameIndex(const IndexUpdate& a, const IndexUpdate& b) {
  if (a.kind != b.kind || a.rows.size() != b.rows.size()) return false;
  for (size_t i = 0; i < a.rows.size(); ++i) {
    if (a.rows[i].key != b.rows[i].key || a.rows[i].value != b.rows[i].value) {
      return false;
    }
  }
  return true;
}

bool Differ(std::string* what, std::string why) {
  if (what != nullptr) *what = std::move(why);
  return false;
}

}  // namespace

bool SameStoreRows(const StoreRows& a, const StoreRows& b, std::string* what) {
  if (a.generation != b.generation) {
    return Differ(what, "generation " + std::to_string(a.generation) +
                            " against " + std::to_string(b.generation));
  }
  if (a.records.size() != b.records.size()) {
    return Differ(what, std::to_string(a.records.size()) + " records against " +
                            std::to_string(b.records.size()));
  }
  for (size_t i = 0; i < a.records.size(); ++i) {
    const StoreRows::Record& x = a.records[i];
    const StoreRows::Record& y = b.records[i];
    const std::string name = x.record.type + "/" + x.record.id;
    if (!SameRecord(x.record, y.record)) {
      return Differ(
          what, "record " + std::to_string(i + 1) + " (" + name + ") differs");
    }
    if (x.versions.size() != y.versions.size()) {
      return Differ(what, "the versions of " + name + " differ in number");
    }
    for (size_t v = 0; v < x.versions.size(); ++v) {
      if (!SameVersion(x.versions[v], y.versions[v])) {
        return Differ(what, "version " + std::to_string(x.versions[v].version) +
                                " of " + name + " differs");
      }
    }
  }
  if (a.documents != b.documents) return Differ(what, "the documents differ");
  if (a.index.size() != b.index.size()) {
    return Differ(what, "the index rows differ");
  }
  for (size_t i = 0; i < a.index.size(); ++i) {
    if (!SameIndex(a.index[i], b.index[i])) {
      return Differ(what,
                    "the index rows of kind " + a.index[i].kind + " differ");
    }
  }
  return true;
}

}  // namespace tillit::vault
