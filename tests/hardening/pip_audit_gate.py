"""CI's dependency audit: run pip-audit on requirements.lock and decide.

    .venv/bin/python -m tests.hardening.pip_audit_gate [requirements.lock]

* a known vulnerability in any locked package: exit 1, naming the package, the advisory and
  the versions that fix it;
* some packages could not be audited while others could (a package missing from the
  vulnerability service, a partial outage): exit 1, as ``pip-audit --strict`` would;
* no package could be audited at all (the vulnerability service is unreachable from this
  machine): the audit did not happen. That is said loudly, and the step exits 0 unless
  ``MEET_AUDIT_REQUIRED=1`` (then 1), so that a machine without the service can still run
  the tests while a machine with it enforces the audit.

pip-audit's own ``--strict`` cannot make that last distinction, and without it pip-audit
reports "No known vulnerabilities found" when it audited nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def decide(report: dict[str, Any], *, required: bool) -> tuple[int, list[str]]:
    """(exit code, lines to print) for pip-audit's JSON report."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = [d for d in dependencies if not d.get("skip_reason")]
    vulnerable = [d for d in audited if d.get("vulns")]
    lines: list[str] = []
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            aliases = ", ".join(vuln.get("aliases") or [])
            lines.append(
                f"VULNERABLE {dependency['name']} {dependency.get('version', '?')}: {vuln['id']}"
                f"{f' ({aliases})' if aliases else ''}; fixed in {fixed}"
            )
    if vulnerable:
        return 1, lines
    if dependencies and not audited:
        lines.append(
            f"pip-audit: NOT AUDITED - none of the {len(dependencies)} locked packages could be "
            f"checked ({skipped[0]['skip_reason']}); the vulnerability service is unreachable "
            "from this machine"
        )
        return (1 if required else 0), lines
    if skipped:
        lines.extend(f"NOT AUDITED {d['name']}: {d['skip_reason']}" for d in skipped)
        return 1, lines
    lines.append(f"pip-audit: {len(audited)} locked packages audited, no known vulnerabilities")
    return 0, lines


def main(argv: list[str]) -> int:
    lock = Path(argv[0]) if argv else ROOT / "requirements.lock"
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "audit.json"
        done = subprocess.run(
            [str(pip_audit), "-r", str(lock), "--no-deps", "--disable-pip",
             "--progress-spinner", "off", "-f", "json", "-o", str(output)],
            capture_output=True, text=True, timeout=1800,
        )
        if not output.exists():
            print(done.stdout + done.stderr, file=sys.stderr)
            print(f"pip-audit failed ({done.returncode}) without a report", file=sys.stderr)
            return 1
        report = json.loads(output.read_text())
    code, lines = decide(report, required=os.environ.get("MEET_AUDIT_REQUIRED") == "1")
    for line in lines:
        print(line, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
