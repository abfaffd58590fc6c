"""The command line starts without loading the data libraries: --help and one-line errors come at once."""

from __future__ import annotations

import subprocess
import sys


def test_loading_the_cli_imports_neither_pandas_nor_pyarrow():
    code = "import sys, linkage.cli; print(sorted(m for m in ('pandas', 'pyarrow', 'numpy') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
