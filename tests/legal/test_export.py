"""Export bundles: written from S3 on both engines, verified by the stand-alone script in a
fresh virtual environment without this project, and failing verification, naming the file,
after any one-byte change."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meet_core.archive import s3_client
from meet_core.archive.errors import ArchiveError
from meet_core.matters.bundle_verify import ed25519_verify_pure, verify_bundle
from meet_core.matters.export import ExportResult, export_matter, public_key_hex
from meet_core.matters.holds import hold_matter
from meet_core.matters.service import add_meetings, create_matter
from meet_sandbox.s3 import EmbeddedS3
from meet_sandbox.s3.faultproxy import FaultProxy
from tests.legal.conftest import LegalWorld


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with nothing installed: what a receiving party may have."""
    folder = tmp_path_factory.mktemp("receiver") / "venv"
    venv.EnvBuilder(with_pip=False, clear=True).create(folder)
    python = folder / "bin" / "python"
    probe = subprocess.run([python, "-I", "-c", "import meet_core"], capture_output=True, text=True,
                           check=False, cwd=folder)
    assert probe.returncode != 0, "the receiver's environment must not see this project"
    return python


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _exported(legal: LegalWorld, tmp_path: Path, key: Ed25519PrivateKey, name: str = "Export") -> ExportResult:
    one = legal.archived_meeting(f"{name}-1", "2026-05-01", ["the contract was signed"],
                                 attendees=("outside@partner.test",))
    two = legal.archived_meeting(f"{name}-2", "2026-05-02", ["second meeting"])
    with legal.sessions.begin() as session:
        matter = create_matter(session, name=name, description="d", actor="officer@example.com")
        add_meetings(session, matter, actor="officer@example.com", meeting_ids=[one, two])
    assert hold_matter(legal.sessions, legal.s3, name, actor="officer@example.com").ok
    return export_matter(legal.sessions, legal.s3, name, tmp_path / "bundle", key=key,
                         actor="officer@example.com")


def _run_script(python: Path, bundle: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``-I``: isolated mode, no PYTHONPATH, no user site, not the current directory."""
    script = bundle / "verify_bundle.py"
    return subprocess.run([python, "-I", script, bundle, *extra], capture_output=True, text=True,
                          check=False, cwd=bundle.parent, timeout=300)


def test_a_bundle_verifies_with_its_own_script_in_a_bare_environment(
    legal: LegalWorld, tmp_path: Path, key: Ed25519PrivateKey, bare_python: Path
) -> None:
    result = _exported(legal, tmp_path, key)
    bundle = result.path
    manifest = json.loads((bundle / "manifest.json").read_text())
    paths = {f["path"] for f in manifest["files"]}
    assert sum(1 for p in paths if "/recording/" in p) == 2
    assert sum(1 for p in paths if "/transcript_entries/" in p) == 2
    assert {"verify_bundle.py", "public_key.txt", "audit/events.jsonl"} <= paths
    record = json.loads(next(bundle.glob("meetings/*/record.json")).read_text())
    assert {"meeting", "invited", "attendance", "coverage", "ledger", "objects"} <= set(record)
    assert record["held_by_matters"] == ["Export"] and all(o["version_id"] for o in record["objects"])
    events = [json.loads(line) for line in (bundle / "audit/events.jsonl").read_text().splitlines()]
    assert {"matter.opened", "matter.held", "artifact.archived"} <= {e.get("action") for e in events}
    done = _run_script(bare_python, bundle, "--public-key", public_key_hex(key))
    assert done.returncode == 0, done.stderr
    assert verify_bundle(bundle, public_key_hex(key)) == []
    other = _run_script(bare_python, bundle, "--public-key", public_key_hex(Ed25519PrivateKey.generate()))
    assert other.returncode == 1 and "not the pinned key" in other.stderr


def test_one_changed_byte_in_any_file_or_manifest_field_fails_naming_the_file(
    legal: LegalWorld, tmp_path: Path, key: Ed25519PrivateKey, bare_python: Path
) -> None:
    bundle = _exported(legal, tmp_path, key, name="Tamper").path
    manifest = json.loads((bundle / "manifest.json").read_text())
    for item in manifest["files"]:
        copy = tmp_path / "copy"
        shutil.copytree(bundle, copy)
        target = copy / item["path"]
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
        problems = verify_bundle(copy)
        assert any(p.startswith(item["path"] + ":") for p in problems), (item["path"], problems)
        shutil.rmtree(copy)
    # One field of the manifest: the signature no longer verifies, and the script says so.
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    edited = json.loads((copy / "manifest.json").read_text())
    edited["matter"]["name"] = "Something else"
    (copy / "manifest.json").write_text(json.dumps(edited, indent=2, sort_keys=True) + "\n")
    done = _run_script(bare_python, copy)
    assert done.returncode == 1 and "manifest.json: the Ed25519 signature" in done.stderr
    # An audit event's content changed: its hash no longer matches (the script names the file).
    lines = (bundle / "audit/events.jsonl").read_text().splitlines()
    full = next(i for i, line in enumerate(lines) if "actor" in json.loads(line))
    event = json.loads(lines[full])
    event["actor"] = "someone else"
    lines[full] = json.dumps(event, sort_keys=True, separators=(",", ":"))
    shutil.rmtree(copy)
    shutil.copytree(bundle, copy)
    (copy / "audit/events.jsonl").write_text("\n".join(lines) + "\n")
    assert any("audit/events.jsonl: seq" in p for p in verify_bundle(copy))


def test_an_s3_fault_during_export_leaves_no_bundle(
    legal: LegalWorld, tmp_path: Path, key: Ed25519PrivateKey, s3_server: EmbeddedS3
) -> None:
    meeting = legal.archived_meeting("x-1", "2026-05-03", ["faulty export"])
    with legal.sessions.begin() as session:
        matter = create_matter(session, name="Faulty export", description=None, actor="a@example.com")
        add_meetings(session, matter, actor="a@example.com", meeting_ids=[meeting])
    with (
        FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("500",), operations={"GetObject"}) as proxy,
        pytest.raises(ArchiveError),
    ):
        export_matter(legal.sessions, s3_client(proxy.endpoint_url, max_attempts=2), "Faulty export",
                      tmp_path / "out", key=key, actor="a@example.com")
    assert list(tmp_path.iterdir()) == []


def test_garbage_export_targets_are_refused(legal: LegalWorld, tmp_path: Path, key: Ed25519PrivateKey) -> None:
    with legal.sessions.begin() as session:
        create_matter(session, name="Empty", description=None, actor="a@example.com")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    for out in (tmp_path / "full", tmp_path / "missing-parent" / "out", tmp_path / "full" / "x"):
        with pytest.raises(ValueError):
            export_matter(legal.sessions, legal.s3, "Empty", out, key=key, actor="a@example.com")
    with pytest.raises(ValueError):
        export_matter(legal.sessions, legal.s3, "No such matter", tmp_path / "o", key=key, actor="a")


def test_the_pure_python_signature_check_agrees_with_cryptography() -> None:
    key = Ed25519PrivateKey.generate()
    public = bytes.fromhex(public_key_hex(key))
    signature = key.sign(b"message")
    assert ed25519_verify_pure(public, b"message", signature)
    assert not ed25519_verify_pure(public, b"messagf", signature)
    assert not ed25519_verify_pure(public, b"message", signature[:-1] + bytes([signature[-1] ^ 1]))
    assert sys.version_info >= (3, 8)
