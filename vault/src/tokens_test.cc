// Tests of the vault's tokens (TokenStore, through the Vault).
#include "tillit/vault/tokens.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "tillit/vault/vault.h"
#include "vault_test.h"

namespace tillit::vault {
namespace {

TEST_F(VaultTest, TokensNeedAPositiveLifetime) {
  auto vault = InitVault();
  EXPECT_EQ(vault->IssueToken("admin", "x", 0).status().code(),
            StatusCode::kInvalidArgument);
  auto t = vault->IssueToken("admin", "x", 60);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->expires_at, kNow + 60);
}

TEST_F(VaultTest, TokensAreTlkAnd64LowercaseHexDigits) {
  auto vault = InitVault();
  auto a = vault->IssueToken("citizen", "c_a", 60);
  auto b = vault->IssueToken("citizen", "c_a", 60);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string_view text = a->ExposeSecretText();
  ASSERT_EQ(text.size(), 4u + 64u);
  EXPECT_EQ(text.substr(0, 4), "tlk_");
  EXPECT_EQ(text.find_first_not_of("0123456789abcdef", 4),
            std::string_view::npos);
  EXPECT_NE(text, b->ExposeSecretText());
}

TEST_F(VaultTest, TokensVerifyUntilTheyExpireOrAreRevoked) {
  auto vault = InitVault();
  auto t = vault->IssueToken("provider", "p_x", 60);
  ASSERT_TRUE(t.ok());
  auto info = vault->VerifyToken(t->ExposeSecretText());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->role, "provider");
  EXPECT_EQ(info->principal, "p_x");
  EXPECT_EQ(info->expires_at, kNow + 60);

  // A token differing in one character, an empty one and a huge one are
  // all just "invalid".
  std::string other(t->ExposeSecretText());
  other.back() = other.back() == '0' ? '1' : '0';
  EXPECT_EQ(vault->VerifyToken(other).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(vault->VerifyToken("").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(vault->VerifyToken(std::string(10000, 'a')).status().code(),
            StatusCode::kUnauthenticated);

  clock_.Advance(60);
  EXPECT_EQ(vault->VerifyToken(t->ExposeSecretText()).status().code(),
            StatusCode::kUnauthenticated);
  clock_.Advance(-60);
  ASSERT_TRUE(vault->VerifyToken(t->ExposeSecretText()).ok());

  ASSERT_TRUE(vault->RevokeToken(t->ExposeSecretText()).ok());
  EXPECT_EQ(vault->VerifyToken(t->ExposeSecretText()).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(vault->RevokeToken(t->ExposeSecretText()).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(vault->RevokeToken(other).code(), StatusCode::kNotFound);
}

TEST_F(VaultTest, RedeemedCodesWorkOnceAndOnlyForTheirRole) {
  auto vault = InitVault();
  auto code = vault->IssueToken("enroll", "c_a", 60);
  auto token = vault->IssueToken("citizen", "c_a", 60);
  ASSERT_TRUE(code.ok() && token.ok());
  EXPECT_EQ(
      vault->RedeemToken(token->ExposeSecretText(), "enroll").status().code(),
      StatusCode::kUnauthenticated);
  // Not consumed.
  EXPECT_TRUE(vault->VerifyToken(token->ExposeSecretText()).ok());

  auto first = vault->RedeemToken(code->ExposeSecretText(), "enroll");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->principal, "c_a");
  EXPECT_EQ(
      vault->RedeemToken(code->ExposeSecretText(), "enroll").status().code(),
      StatusCode::kUnauthenticated);

  auto late = vault->IssueToken("enroll", "c_b", 60);
  ASSERT_TRUE(late.ok());
  clock_.Advance(61);
  EXPECT_EQ(
      vault->RedeemToken(late->ExposeSecretText(), "enroll").status().code(),
      StatusCode::kUnauthenticated);
}

TEST_F(VaultTest, RevokingAPrincipalRevokesAllItsTokensAndSurvivesReopen) {
  auto vault = InitVault();
  auto a = vault->IssueToken("citizen", "c_a", 600);
  auto b = vault->IssueToken("citizen", "c_a", 600);
  auto other = vault->IssueToken("citizen", "c_b", 600);
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  auto n = vault->RevokePrincipalTokens("c_a");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(*vault->RevokePrincipalTokens("c_a"), 0);
  vault.reset();
  auto reopened = Vault::Open(Options());
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE((*reopened)->VerifyToken(a->ExposeSecretText()).ok());
  EXPECT_FALSE((*reopened)->VerifyToken(b->ExposeSecretText()).ok());
  EXPECT_TRUE((*reopened)->VerifyToken(other->ExposeSecretText()).ok());
}

}  // namespace
}  // namespace tillit::vault
