// The audit log contract (tillit/testing/audit_log_contract.h) on the data
// directory's store: DIR/audit.db, every handle a separate SQLCipher
// connection, as a server and the command line are.
#include "tillit/testing/audit_log_contract.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tillit/audit/audit_log.h"
#include "tillit/crypto/kdf.h"
#include "tillit/crypto/secret.h"
#include "tillit/testing/fixed_keys.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::audit {
namespace {

using tillit::testing::FixedKeys;

// A data directory and the keys of its vault, kept as long as any
// function of the log under test is.
struct DataDir {
  tillit::testing::TempDir dir;
  FixedKeys keys;
};

AuditLogUnderTest InNewDataDirectory() {
  auto data = std::make_shared<DataDir>();
  AuditLogUnderTest t;
  t.open = [data]() -> StatusOr<std::unique_ptr<AuditLog>> {
    return AuditLog::OpenInDirectory(data->dir.path(), data->keys);
  };
  t.verify = [data](const std::string& note) -> StatusOr<VerifyReport> {
    return VerifyStoredLog(data->dir.path(), data->keys, note);
  };
  return t;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(DataDirectory, AuditLogContractTest,
                         ::testing::Values(AuditLogBackend{"data_directory",
                                                           InNewDataDirectory}),
                         AuditLogBackendName);

}  // namespace tillit::audit
