"""The CI audit step's decisions on pip-audit's JSON report (``pip_audit_gate.decide``)."""

from __future__ import annotations

from tests.hardening.pip_audit_gate import decide

CLEAN = {"name": "alembic", "version": "1.20.1", "vulns": []}
SKIPPED = {"name": "yarl", "skip_reason": "Dependency not found on PyPI and could not be audited"}
VULNERABLE = {
    "name": "jinja2",
    "version": "3.1.2",
    "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": ["CVE-2024-22195"]}],
}


def test_a_known_vulnerability_fails_and_names_package_advisory_and_fix() -> None:
    code, lines = decide({"dependencies": [CLEAN, VULNERABLE]}, required=False)
    assert code == 1
    assert lines == [
        "VULNERABLE jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (CVE-2024-22195); fixed in 3.1.3"
    ]


def test_a_vulnerability_fails_even_when_other_packages_were_not_audited() -> None:
    assert decide({"dependencies": [SKIPPED, VULNERABLE]}, required=False)[0] == 1


def test_a_partial_audit_fails_like_strict() -> None:
    code, lines = decide({"dependencies": [CLEAN, SKIPPED]}, required=False)
    assert code == 1 and lines == [f"NOT AUDITED yarl: {SKIPPED['skip_reason']}"]


def test_an_unreachable_service_is_reported_and_fails_only_when_required() -> None:
    report = {"dependencies": [SKIPPED, {**SKIPPED, "name": "zipp"}]}
    code, lines = decide(report, required=False)
    assert code == 0 and "NOT AUDITED - none of the 2 locked packages" in lines[0]
    assert decide(report, required=True)[0] == 1


def test_a_clean_audit_passes() -> None:
    assert decide({"dependencies": [CLEAN]}, required=True) == (
        0, ["pip-audit: 1 locked packages audited, no known vulnerabilities"]
    )
