#!/usr/bin/env python3
"""Tests of check_layers.py on small fake trees built in a temporary folder.

Usage: check_layers_test.py   (exit status 0 when every test passes)
"""

import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

CHECKER = Path(__file__).resolve().parent / "check_layers.py"

GOOD_ARCHITECTURE = textwrap.dedent("""\
    # Architecture

    ```sh
    not: a table
    ```

    ```layers
    base:
    fhir: base
    storage: base   # a comment
    consent: base fhir
    vault: base storage fhir
    mobile-bridge: base storage
    api: base vault consent
    ```

    ```http
    api mobile-bridge
    ```
    """)

# Non-test sources of each library (path -> text) that respect the table.
GOOD_FILES = {
    "base/include/tillit/base/status.h": "#pragma once\n",
    "base/src/status.cc": '#include "tillit/base/status.h"\n',
    "fhir/include/tillit/fhir/fhir.h": '#include "tillit/base/status.h"\n',
    "storage/src/database.cc": '#include "tillit/base/status.h"\n',
    "consent/include/tillit/consent/policy.h":
        '#include "tillit/base/status.h"\n#include "tillit/fhir/fhir.h"\n',
    "consent/src/engine.cc": '#include "tillit/consent/policy.h"\n',
    "vault/src/vault.cc":
        '#include "tillit/storage/database.h"\n'
        '#  include <tillit/fhir/fhir.h>\n',
    "mobile-bridge/include/tillit_bridge.h": "/* C ABI */\n",
    "mobile-bridge/src/bridge_c.cc":
        '#include "tillit_bridge.h"\n#include <httplib.h>\n',
    "api/src/server.cc":
        '#include <httplib.h>\n#include "tillit/vault/vault.h"\n'
        '#include "tillit/consent/policy.h"\n',
    # Tests may include anything.
    "consent/src/engine_test.cc": '#include "tillit/vault/vault.h"\n',
    "storage/src/database_test.cc": "#include <httplib.h>\n",
    # Not a library: no include/ or src/.
    "tests/CMakeLists.txt": "# end-to-end tests\n",
    # Commented-out includes do not count.
    "fhir/src/fhir.cc": '// #include "tillit/vault/vault.h"\n',
}


class CheckLayersTest(unittest.TestCase):

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name)
        self.write("docs/ARCHITECTURE.md", GOOD_ARCHITECTURE)
        for path, text in GOOD_FILES.items():
            self.write(path, text)

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, path, text):
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def run_checker(self):
        result = subprocess.run(
            [sys.executable, str(CHECKER), "--root", str(self.root)],
            capture_output=True, text=True, check=False)
        return result.returncode, result.stdout + result.stderr

    def assert_fails_with(self, *expected):
        code, output = self.run_checker()
        self.assertEqual(code, 1, output)
        for text in expected:
            self.assertIn(text, output)

    def test_good_tree_passes(self):
        code, output = self.run_checker()
        self.assertEqual(code, 0, output)

    def test_consent_including_vault_fails(self):
        self.write("consent/src/engine.cc",
                   '#include "tillit/consent/policy.h"\n'
                   '\n'
                   '#include "tillit/vault/vault.h"\n')
        self.assert_fails_with(
            "consent/src/engine.cc:3: forbidden edge consent -> vault",
            "consent may include base fhir")

    def test_storage_including_httplib_fails(self):
        self.write("storage/include/tillit/storage/database.h",
                   "#include <httplib.h>\n")
        self.assert_fails_with(
            "storage/include/tillit/storage/database.h:1: forbidden edge "
            "storage -> HTTP",
            "only api mobile-bridge may use HTTP")

    def test_library_header_outside_tillit_folder_is_an_edge(self):
        self.write("api/src/bridge.cc", '#include "tillit_bridge.h"\n')
        self.assert_fails_with(
            "api/src/bridge.cc:1: forbidden edge api -> mobile-bridge")

    def test_unknown_tillit_prefix_fails(self):
        self.write("vault/src/store.h", '#include "tillit/testing/temp.h"\n')
        self.assert_fails_with(
            "vault/src/store.h:1: vault includes tillit/testing/temp.h, "
            "which belongs to no library")

    def test_unlisted_library_folder_fails(self):
        self.write("research/src/release.cc", "int x;\n")
        self.assert_fails_with(
            "research/: library folder not listed in the layers block")

    def test_listed_library_without_folder_fails(self):
        self.write("docs/ARCHITECTURE.md", GOOD_ARCHITECTURE.replace(
            "api: base vault consent\n",
            "api: base vault consent\ncli: api\n"))
        self.assert_fails_with("layers lists cli, but there is no library "
                               "folder cli/")

    def test_cycle_in_table_fails(self):
        self.write("docs/ARCHITECTURE.md", GOOD_ARCHITECTURE.replace(
            "base:\n", "base: vault\n"))
        self.assert_fails_with("layers: cycle ")

    def test_unknown_dependency_in_table_fails(self):
        self.write("docs/ARCHITECTURE.md", GOOD_ARCHITECTURE.replace(
            "fhir: base\n", "fhir: base crypto\n"))
        self.assert_fails_with(
            "layers: fhir may include crypto, which is not listed")

    def test_missing_http_block_fails(self):
        self.write("docs/ARCHITECTURE.md", GOOD_ARCHITECTURE.replace(
            "```http\napi mobile-bridge\n```\n", ""))
        self.assert_fails_with("no ```http block")

    def test_missing_architecture_fails(self):
        (self.root / "docs/ARCHITECTURE.md").unlink()
        self.assert_fails_with("ARCHITECTURE.md: cannot read")


if __name__ == "__main__":
    unittest.main()
