"""The layout holds: which package may import which, and the product runs without the sandbox.

docs/architecture.md draws the same rules. Imports are read from the source (every
``import`` and ``from … import`` anywhere in a module, lazy ones inside functions included),
so a rule cannot be dodged by importing late.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("meet_core", "meet_api", "meet_pipeline", "meet_sandbox", "meet_cli")

# What each package may import of the project's own packages (besides itself).
ALLOWED: dict[str, set[str]] = {
    "meet_core": set(),
    "meet_api": {"meet_core"},
    "meet_pipeline": {"meet_core"},
    "meet_sandbox": {"meet_core", "meet_api", "meet_pipeline"},
    "meet_cli": {"meet_core", "meet_api", "meet_pipeline", "meet_sandbox"},
}


def imported_packages(source: Path) -> set[str]:
    """The top-level project packages a module imports, anywhere in its body."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in PACKAGES)
    return found


def test_imported_packages_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from meet_api.app import create_app\n    import meet_pipeline.x as y\n")
    assert imported_packages(module) == {"meet_api", "meet_pipeline"}


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_it_may(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(used)
        for path in sorted((ROOT / package).rglob("*.py"))
        if (used := imported_packages(path) - ALLOWED[package] - {package})
    }
    assert wrong == {}, f"{package} may import only {sorted(ALLOWED[package])}"


def test_importing_the_product_loads_no_sandbox_and_no_moto() -> None:
    code = (
        "import sys, json, meet_core, meet_api.app, meet_pipeline.definitions, meet_cli.main\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('moto', 'meet_sandbox'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="uv builds the runtime venv")
def test_runtime_install_works_without_extras(tmp_path: Path) -> None:
    """``pip install .`` from the runtime lock alone: the product works, moto is absent."""
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "GOOGLE_", "VIRTUAL_ENV"))}
    env["MEET_HOME"] = str(tmp_path / "home")

    def run(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=600)

    # A copy of the sources, so that the build writes nothing into the checkout.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".meet-archive", "__pycache__", "*.egg-info", "build", "tests", "bench", "docs"))
    assert run("uv", "venv", "--quiet", "--python", sys.executable, str(venv)).returncode == 0
    installed = run("uv", "pip", "install", "--quiet", "--python", str(python), "-r", "requirements.lock", cwd=source)
    assert installed.returncode == 0, installed.stderr
    installed = run("uv", "pip", "install", "--quiet", "--python", str(python), "--no-deps", ".", cwd=source)
    assert installed.returncode == 0, installed.stderr

    cli = str(venv / "bin" / "meet-archive")
    helped = run(cli, "--help")
    assert helped.returncode == 0 and "db" in helped.stdout, helped.stderr
    upgraded = run(cli, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    imported = run(str(python), "-c", "import meet_api.app, meet_pipeline.definitions")
    assert imported.returncode == 0, imported.stderr
    assert run(str(python), "-c", "import moto").returncode != 0
    for test_tool in ("pytest", "mypy", "ruff", "schemathesis", "hypothesis"):
        assert run(str(python), "-c", f"import {test_tool}").returncode != 0, test_tool
    # The sandbox's commands say how to get it instead of failing with a trace.
    demo = run(cli, "demo", "--headless")
    assert demo.returncode == 2 and "meet-archive[sandbox]" in demo.stderr, demo.stderr
