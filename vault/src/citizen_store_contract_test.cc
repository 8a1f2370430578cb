// The CitizenStore contract (citizen_store_contract.h) on the data
// directory's stores: one SQLCipher file per citizen.
#include "tillit/testing/citizen_store_contract.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "tillit/crypto/random.h"
#include "tillit/storage/database.h"
#include "tillit/testing/temp_dir.h"
#include "tillit/vault/sqlcipher_citizen_store.h"

namespace tillit::vault {
namespace {

// citizens/<id>.db in a temporary directory, each under its own key.
class SqlCipherPlace final : public CitizenStorePlace {
 public:
  StatusOr<std::unique_ptr<CitizenStore>> Open(
      const std::string& citizen_id,
      CitizenStore::GenerationSink sink) override {
    auto [it, added] = keys_.try_emplace(citizen_id);
    if (added) it->second = rng_.Secret(32);
    storage::Database::Options o;
    o.create = true;
    TILLIT_ASSIGN_OR_RETURN(
        std::unique_ptr<storage::Database> db,
        storage::Database::Open(dir_ / (citizen_id + ".db"), &it->second, o,
                                SqlCipherCitizenStore::Setup));
    TILLIT_ASSIGN_OR_RETURN(int64_t generation,
                            SqlCipherCitizenStore::ReadGeneration(*db));
    return std::unique_ptr<CitizenStore>(
        std::make_unique<SqlCipherCitizenStore>(citizen_id, std::move(db),
                                                generation, std::move(sink)));
  }

 private:
  crypto::DeterministicRandom rng_{11};
  tillit::testing::TempDir dir_;
  std::map<std::string, crypto::SecretBytes> keys_;
};

INSTANTIATE_TEST_SUITE_P(
    DataDirectory, CitizenStoreContractTest,
    ::testing::Values(CitizenStoreBackend{
        "sqlcipher", [] { return std::make_unique<SqlCipherPlace>(); }}),
    CitizenStoreBackendName);

}  // namespace
}  // namespace tillit::vault
