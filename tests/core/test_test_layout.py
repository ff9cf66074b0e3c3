"""Tests and benches stay apart: no module under ``tests/`` imports ``bench``, and no module
under ``bench/`` imports ``tests``. What both need lives in ``meet_sandbox``.

Imports are read from the source like in test_layout.py (lazy ones inside functions
included); a bench script's bare ``import common`` or ``import pg_seed`` (bench/ is on its
path) counts as importing ``bench`` when a test does it. Loading or running the other
side's file by path (``ROOT / "bench" / "x.py"``, ``"tests/x.py"``, ``-m bench.x``) counts too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH_MODULES = {path.stem for path in (ROOT / "bench").glob("*.py")}


def top_level_imports(source: Path) -> set[str]:
    """The top-level names a module imports, anywhere in its body (relative imports aside)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def file_references(source: Path, folder: str) -> set[str]:
    """Files of ``folder`` a module names by path or module name: ``"folder/x.py"``,
    ``"folder.x"`` or a path built as ``… / "folder" / … "x.py"``."""
    named = re.compile(rf"^{folder}(/[\w./-]+\.py|\.\w[\w.]*)$")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and named.match(node.value):
            found.add(node.value)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            constants = [n for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            parts = [n.value for n in sorted(constants, key=lambda n: (n.lineno, n.col_offset))]
            if folder in parts and any(part.endswith(".py") for part in parts):
                found.add("/".join(parts))
    return found


def test_file_references_sees_paths_and_module_names(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        'a = ROOT / "bench" / "x.py"\nb = ["-m", "bench.y"]\nc = "bench/z.py"\n'
        'd = "the bench/x.py child"\ne = ROOT / "bench"\n'
    )
    assert file_references(module, "bench") == {"bench/x.py", "bench.y", "bench/z.py"}


def test_top_level_imports_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from tests.pipeline import x\n    import bench.common as c\n")
    assert top_level_imports(module) == {"tests", "bench"}


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("tests", {"bench"} | BENCH_MODULES), ("bench", {"tests"})],
)
def test_tests_and_benches_do_not_import_each_other(folder: str, forbidden: set[str]) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(used)
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (used := top_level_imports(path) & forbidden)
    }
    assert wrong == {}, f"{folder}/ may not import {sorted(forbidden)}"


@pytest.mark.parametrize(("folder", "other"), [("tests", "bench"), ("bench", "tests")])
def test_tests_and_benches_do_not_load_each_others_files(folder: str, other: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(used)
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != Path(__file__).resolve() and (used := file_references(path, other))
    }
    assert wrong == {}, f"{folder}/ may not load or run {other}/ files"
