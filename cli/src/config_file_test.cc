#include "src/config_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "tillit/testing/temp_dir.h"

namespace tillit::cli {
namespace {

using ::tillit::testing::TempDir;
using ::tillit::testing::WriteAll;

// The message of a parse that must fail.
std::string ParseError(const std::string& text) {
  auto f = ParseConfigFile(text, "t.conf");
  EXPECT_FALSE(f.ok()) << text;
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  return f.status().message();
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ConfigFileTest, KeysValuesCommentsAndBlankLines) {
  auto f = ParseConfigFile(
      "# tillit\n"
      "\n"
      "listen = 127.0.0.1:8443\n"
      "  data=/var/lib/tillit  \n"
      "\t# indented comment\n"
      "key-file =\t/etc/tillit/root key\r\n"
      "quiet = true",  // no newline at the end
      "t.conf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->path, "t.conf");
  ASSERT_EQ(f->lines.size(), 4u);
  EXPECT_EQ(f->lines[0].key, "listen");
  EXPECT_EQ(f->lines[0].value, "127.0.0.1:8443");
  EXPECT_EQ(f->lines[0].line, 3);
  EXPECT_EQ(f->lines[1].key, "data");
  EXPECT_EQ(f->lines[1].value, "/var/lib/tillit");
  EXPECT_EQ(f->lines[1].line, 4);
  // Inner spaces are kept; a CRLF line ending is not part of the value.
  EXPECT_EQ(f->lines[2].value, "/etc/tillit/root key");
  EXPECT_EQ(f->lines[2].line, 6);
  EXPECT_EQ(f->lines[3].key, "quiet");
  EXPECT_EQ(f->lines[3].value, "true");
  EXPECT_EQ(f->lines[3].line, 7);
  EXPECT_EQ(f->Where(7), "t.conf line 7");
  // A value may hold `=`.
  auto eq = ParseConfigFile("data = /srv/a=b\n", "t.conf");
  ASSERT_TRUE(eq.ok());
  EXPECT_EQ(eq->lines[0].value, "/srv/a=b");
}

TEST(ConfigFileTest, AnEmptyFileHasNoLines) {
  for (const char* text : {"", "\n\n", "# only comments\n#\n", "  \t \n"}) {
    auto f = ParseConfigFile(text, "t.conf");
    ASSERT_TRUE(f.ok()) << text;
    EXPECT_TRUE(f->lines.empty()) << text;
  }
}

TEST(ConfigFileTest, ALineThatIsNotKeyEqualsValueNamesItsLine) {
  const std::string m = ParseError("listen = a:1\n\nhunter2\n");
  EXPECT_TRUE(Has(m, "t.conf line 3")) << m;
  EXPECT_TRUE(Has(m, "key = value")) << m;
  // The line itself is not quoted: it might be a pasted secret.
  EXPECT_FALSE(Has(m, "hunter2")) << m;
  EXPECT_TRUE(Has(ParseError("= value\n"), "t.conf line 1"));
}

TEST(ConfigFileTest, KeysAreLowerCaseLettersDigitsAndDashes) {
  std::string m = ParseError("--listen = a:1\n");
  EXPECT_TRUE(Has(m, "line 1")) << m;
  EXPECT_TRUE(Has(m, "without dashes")) << m;
  EXPECT_TRUE(Has(m, "`listen = ...`")) << m;
  for (const char* text : {"Listen = a:1\n", "tls_cert = x\n", "my key = x\n",
                           "- = x\n", "max.body = 1\n", "-- = x\n"}) {
    m = ParseError(text);
    EXPECT_TRUE(Has(m, "t.conf line 1")) << text << m;
    EXPECT_TRUE(Has(m, "lower-case letters, digits and dashes")) << text << m;
  }
}

TEST(ConfigFileTest, AValueIsNeitherEmptyNorQuotedNorCommented) {
  std::string m = ParseError("# x\ndata =   \n");
  EXPECT_TRUE(Has(m, "t.conf line 2")) << m;
  EXPECT_TRUE(Has(m, "`data` has no value")) << m;
  for (const char* text : {"data = \"/var/lib/tillit\"\n", "data = '/x'\n"}) {
    m = ParseError(text);
    EXPECT_TRUE(Has(m, "without quotes")) << m;
    EXPECT_TRUE(Has(m, "line 1")) << m;
  }
  m = ParseError("\n\nthreads = 8  # more for the big region\n");
  EXPECT_TRUE(Has(m, "t.conf line 3")) << m;
  EXPECT_TRUE(Has(m, "a comment must be on a line of its own")) << m;
  EXPECT_FALSE(Has(m, "big region")) << m;
}

TEST(ConfigFileTest, AKeyTwiceNamesBothLines) {
  const std::string m =
      ParseError("threads = 8\nlisten = a:1\n# again\nthreads = 16\n");
  EXPECT_TRUE(Has(m, "t.conf line 4")) << m;
  EXPECT_TRUE(Has(m, "`threads` is set again (first on line 1)")) << m;
}

TEST(ConfigFileTest, ControlCharactersAreRefused) {
  for (const std::string& text :
       {std::string("data = /x\0y\n", 12), std::string("data = /x\ry\n"),
        std::string("listen = a:1\n\x1b[31m = x\n"),
        std::string("data = /x\x7f\n")}) {
    const std::string m = ParseError(text);
    EXPECT_TRUE(Has(m, "control character")) << m;
  }
  EXPECT_TRUE(Has(ParseError("listen = a:1\n\x01\n"), "line 2"));
  // Text beyond ASCII is fine (a path in Swedish).
  auto f = ParseConfigFile("data = /srv/v\xc3\xa5rd\n", "t.conf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->lines[0].value, "/srv/v\xc3\xa5rd");
}

class LoadConfigFileTest : public ::testing::Test {
 protected:
  // Writes `text` to a file of the temporary directory with `mode`.
  std::string Write(const std::string& text, mode_t mode,
                    const std::string& name = "tillit.conf") {
    const std::string path = dir_ / name;
    WriteAll(path, text);
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  TempDir dir_;
};

TEST_F(LoadConfigFileTest, ReadsAFileOnlyItsOwnerMayWrite) {
  for (mode_t mode : {0600, 0644, 0400, 0444}) {
    const std::string path = Write("listen = 127.0.0.1:0\n", mode,
                                   "ok-" + std::to_string(mode) + ".conf");
    auto f = LoadConfigFile(path);
    ASSERT_TRUE(f.ok()) << mode << " " << f.status().ToString();
    EXPECT_EQ(f->path, path);
    ASSERT_EQ(f->lines.size(), 1u);
    EXPECT_EQ(f->lines[0].value, "127.0.0.1:0");
  }
}

TEST_F(LoadConfigFileTest, AFileOthersMayWriteIsRefused) {
  for (mode_t mode : {0620, 0602, 0666, 0660}) {
    const std::string path = Write("listen = 127.0.0.1:0\n", mode,
                                   "open-" + std::to_string(mode) + ".conf");
    auto f = LoadConfigFile(path);
    ASSERT_FALSE(f.ok()) << mode;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    const std::string m = f.status().message();
    EXPECT_TRUE(Has(m, path)) << m;
    EXPECT_TRUE(Has(m, "group or others may write it")) << m;
    EXPECT_TRUE(Has(m, "chmod go-w")) << m;
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    EXPECT_TRUE(Has(m, octal)) << m;
  }
}

TEST_F(LoadConfigFileTest, MissingDirectoryEmptyNameAndHugeAreRefused) {
  auto missing = LoadConfigFile(dir_ / "none.conf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Has(missing.status().message(), dir_ / "none.conf"));
  EXPECT_TRUE(Has(missing.status().message(), "No such file"))
      << missing.status().message();

  auto directory = LoadConfigFile(dir_.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_TRUE(Has(directory.status().message(), "not a regular file"))
      << directory.status().message();

  auto unnamed = LoadConfigFile("");
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.status().code(), StatusCode::kInvalidArgument);

  std::string big = "# padding\n";
  while (big.size() <= kMaxConfigFileBytes) big += "# padding\n";
  auto huge = LoadConfigFile(Write(big, 0600, "huge.conf"));
  ASSERT_FALSE(huge.ok());
  EXPECT_TRUE(Has(huge.status().message(), "larger than 64 KiB"))
      << huge.status().message();
}

TEST_F(LoadConfigFileTest, ParseErrorsNameTheFileAndLine) {
  const std::string path = Write("listen = a:1\nlisten = b:2\n", 0600);
  auto f = LoadConfigFile(path);
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(Has(f.status().message(), path + " line 2"))
      << f.status().message();
}

}  // namespace
}  // namespace tillit::cli
