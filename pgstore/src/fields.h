// The plaintext of a sealed row: a flat list of fields, each an int64 (8
// bytes, big-endian) or a string (4-byte big-endian length, then its
// bytes), in an order each row kind fixes. Only ever read after the AEAD
// has authenticated it, but read defensively all the same: any shortfall
// or leftover is DataLoss.
#ifndef TILLIT_PGSTORE_SRC_FIELDS_H_
#define TILLIT_PGSTORE_SRC_FIELDS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"

namespace tillit::pgstore::internal {

class FieldWriter {
 public:
  FieldWriter& Int(int64_t v) {
    const uint64_t u = static_cast<uint64_t>(v);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out_.push_back(static_cast<uint8_t>(u >> shift));
    }
    return *this;
  }
  FieldWriter& Str(std::string_view s) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      out_.push_back(static_cast<uint8_t>(n >> shift));
    }
    out_.insert(out_.end(), s.begin(), s.end());
    return *this;
  }
  std::vector<uint8_t>& bytes() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

class FieldReader {
 public:
  explicit FieldReader(std::span<const uint8_t> in) : in_(in) {}

  bool Int(int64_t* v) {
    if (in_.size() - pos_ < 8) return Fail();
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = (u << 8) | in_[pos_ + i];
    pos_ += 8;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool Str(std::string* s) {
    if (in_.size() - pos_ < 4) return Fail();
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | in_[pos_ + i];
    pos_ += 4;
    if (in_.size() - pos_ < n) return Fail();
    s->assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  // Ok if every read succeeded and nothing is left over.
  Status Finish() const {
    if (failed_ || pos_ != in_.size()) {
      return Status::DataLoss("a sealed row has the wrong shape");
    }
    return Status::Ok();
  }

 private:
  bool Fail() {
    failed_ = true;
    pos_ = in_.size();
    return false;
  }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace tillit::pgstore::internal

#endif  // TILLIT_PGSTORE_SRC_FIELDS_H_
