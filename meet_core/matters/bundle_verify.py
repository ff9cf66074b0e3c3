#!/usr/bin/env python3
"""Verify a meet-archive export bundle, offline, without meet-archive.

    python verify_bundle.py BUNDLE_DIR [--public-key HEX]

Checks, and names what failed (exit 1; exit 0 when everything holds):
  1. manifest.sig is a valid Ed25519 signature of manifest.json by the public key the
     manifest names (pin the deployment's key with --public-key: a bundle signed by any
     other key then fails);
  2. every file listed in manifest.json exists with its size and SHA-256, and no other
     file is in the bundle;
  3. audit/events.jsonl: every full event's SHA-256 is recomputed from its content, and
     every event (and every hash-only link between them) names the previous one's hash.

Needs Python 3.8+ and nothing else; the `cryptography` package is used for the signature
if installed, otherwise the RFC 8032 reference verification below (pure Python).
This file must stay stand-alone: it is copied into every bundle (standard library only).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

MANIFEST, SIGNATURE, EVENTS = "manifest.json", "manifest.sig", "audit/events.jsonl"
UNSIGNED = {MANIFEST, SIGNATURE}
BLOCK = 1 << 20

# --- Ed25519 verification, RFC 8032 section 6 (reference code, Python 3) -----------------
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_I = pow(2, (_P - 1) // 4, _P)


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _I % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _add(a, b):
    aa = (a[1] - a[0]) * (b[1] - b[0]) % _P
    bb = (a[1] + a[0]) * (b[1] + b[0]) % _P
    cc = 2 * a[3] * b[3] * _D % _P
    dd = 2 * a[2] * b[2] % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f, g * h, f * g, e * h)


def _mul(s, point):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, point)
        point = _add(point, point)
        s >>= 1
    return q


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _decompress(data):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def ed25519_verify_pure(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _L
    return _equal(_mul(s, _G), _add(r, _mul(h, a)))


def ed25519_verify(public, message, signature):
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return ed25519_verify_pure(public, message, signature)
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- the audit chain: the same canonical bytes meet-archive hashes (meet_core/audit.py) ---
def canonical_event(event):
    content = {k: event[k] for k in ("seq", "occurred_at", "actor", "action", "entity_type",
                                      "entity_id", "payload", "prev_hash")}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _file_digest(path):
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _safe(relative):
    parts = relative.split("/")
    return bool(relative) and not relative.startswith("/") and ".." not in parts and "" not in parts \
        and "\\" not in relative


def check_files(root, manifest, problems):
    listed = set()
    for item in manifest.get("files", []):
        relative = item.get("path", "")
        if not _safe(relative):
            problems.append(f"{relative}: unsafe path in {MANIFEST}")
            continue
        listed.add(relative)
        path = os.path.join(root, *relative.split("/"))
        if not os.path.isfile(path):
            problems.append(f"{relative}: missing")
            continue
        sha256, size = _file_digest(path)
        if size != item.get("size"):
            problems.append(f"{relative}: size {size}, the manifest says {item.get('size')}")
        if sha256 != item.get("sha256"):
            problems.append(f"{relative}: SHA-256 {sha256} does not match the manifest's {item.get('sha256')}")
    for folder, _dirs, names in os.walk(root):
        for name in names:
            relative = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if relative not in listed and relative not in UNSIGNED:
                problems.append(f"{relative}: not listed in {MANIFEST}")


def check_events(root, manifest, problems):
    path = os.path.join(root, *EVENTS.split("/"))
    if not os.path.isfile(path):
        problems.append(f"{EVENTS}: missing")
        return
    previous, count = None, 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                event = json.loads(line)
                seq, prev_hash, own = int(event["seq"]), event["prev_hash"], event["hash"]
            except (ValueError, KeyError, TypeError):
                problems.append(f"{EVENTS}: line {number} is not an audit event")
                return
            if previous is not None:
                if seq != previous[0] + 1:
                    problems.append(f"{EVENTS}: seq {seq} follows seq {previous[0]} (a link is missing)")
                if prev_hash != previous[1]:
                    problems.append(f"{EVENTS}: seq {seq} does not link to seq {previous[0]}'s hash")
            if not event.get("link_only"):
                try:
                    actual = hashlib.sha256(canonical_event(event)).hexdigest()
                except KeyError as exc:
                    problems.append(f"{EVENTS}: seq {seq} lacks {exc}")
                    actual = None
                if actual is not None and actual != own:
                    problems.append(f"{EVENTS}: seq {seq} content does not match its hash")
            previous, count = (seq, own), count + 1
    audit = manifest.get("audit", {})
    if count and previous is not None and audit.get("last_hash") not in (None, previous[1]):
        problems.append(f"{EVENTS}: the last event's hash is not the manifest's audit.last_hash")
    if count != audit.get("lines", count):
        problems.append(f"{EVENTS}: {count} lines, the manifest says {audit.get('lines')}")


def verify_bundle(root, public_key_hex=None):
    """Every problem found, as text naming the file; an empty list means the bundle verifies."""
    root = str(root)
    problems = []
    try:
        with open(os.path.join(root, MANIFEST), "rb") as handle:
            manifest_bytes = handle.read()
        manifest = json.loads(manifest_bytes)
    except (OSError, ValueError) as exc:
        return [f"{MANIFEST}: unreadable ({exc})"]
    try:
        with open(os.path.join(root, SIGNATURE), encoding="ascii") as handle:
            signature = bytes.fromhex(handle.read().strip())
    except (OSError, ValueError) as exc:
        return [f"{SIGNATURE}: unreadable ({exc})"]
    try:
        public = bytes.fromhex(str(manifest.get("public_key_ed25519", "")))
    except ValueError:
        public = b""
    if public_key_hex is not None and public.hex() != public_key_hex.strip().lower():
        problems.append(f"{MANIFEST}: signed by key {public.hex()}, not the pinned key {public_key_hex}")
    if not ed25519_verify(public, manifest_bytes, signature):
        problems.append(f"{MANIFEST}: the Ed25519 signature in {SIGNATURE} does not verify")
    check_files(root, manifest, problems)
    check_events(root, manifest, problems)
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify a meet-archive export bundle.")
    parser.add_argument("bundle", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--public-key", help="the deployment's Ed25519 public key (hex), to pin it")
    args = parser.parse_args(argv)
    problems = verify_bundle(args.bundle, args.public_key)
    for problem in problems:
        print("FAILED: " + problem, file=sys.stderr)
    if problems:
        return 1
    print("OK: signature, every file's SHA-256 and the audit chain links verify")
    return 0


if __name__ == "__main__":
    sys.exit(main())
