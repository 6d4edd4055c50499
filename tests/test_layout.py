"""The packages are a library: importable in any order, no side effects, no harness inside."""

import ast
import os
import pathlib
import subprocess
import sys

import keras
import pytest

from tf_data import backend

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("robustcrf", "umn", "tf_data")
CHECK_IMPORT = """
import os, sys
before = os.fstat(2)
for name in sys.argv[1:]:
    __import__(name)
after = os.fstat(2)
assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino), "fd 2 was redirected"
assert sys.stderr is sys.__stderr__
assert "KERAS_BACKEND" not in os.environ, os.environ["KERAS_BACKEND"]
print("ok")
"""


@pytest.mark.parametrize("order", [("keras", "robustcrf", "umn", "tf_data"),
                                   ("umn", "keras", "tf_data", "robustcrf")])
def test_packages_import_in_any_order_without_side_effects(order):
    environment = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    completed = subprocess.run([sys.executable, "-c", CHECK_IMPORT, *order], cwd=ROOT,
                               env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "ok"


def test_another_backend_is_refused_with_a_fix(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ImportError, match="KERAS_BACKEND=tensorflow"):
        backend.require_tensorflow_backend("robustcrf")


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_no_library_module_imports_absl_or_the_harness():
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
        for module in imported_modules(path)
        if module.split(".")[0] in ("absl", "scripts")
    ]
    assert not offenders, offenders
