"""Digests computed while streaming, in order, and the CRC64NVME S3 checks."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from awscrt import checksums

from meet_core.archive.errors import ChecksumMismatch


def crc64nvme(data: bytes | bytearray) -> int:
    return checksums.crc64nvme(data)


def combine_crc64nvme(parts: list[tuple[int, int]]) -> int:
    """Full-object CRC64NVME from the ordered (crc, length) of each part."""
    total = 0
    for index, (crc, length) in enumerate(parts):
        total = crc if index == 0 else checksums.combine_crc64nvme(total, crc, length)
    return total


def crc_b64(crc: int) -> str:
    """S3's wire form: base64 of the 8 big-endian bytes."""
    return base64.b64encode(crc.to_bytes(8, "big")).decode("ascii")


@dataclass(frozen=True, slots=True)
class Expected:
    """What the source (Drive) says the bytes are; every field optional."""

    size: int | None = None
    sha256: str | None = None
    md5: str | None = None

    @classmethod
    def parse(cls, size: object, sha256: object, md5: object) -> Expected:
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise ValueError(f"expected_size: expected a whole number >= 0, got {size!r}")
        return cls(size=size, sha256=_hex(sha256, 64, "expected_sha256"), md5=_hex(md5, 32, "expected_md5"))


def _hex(value: object, length: int, name: str) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or len(value) != length
        or any(c not in "0123456789abcdefABCDEF" for c in value)
    ):
        raise ValueError(f"{name}: expected {length} hex digits, got {value!r}")
    return value.lower()


class StreamDigest:
    """SHA-256 (and MD5 when the source gave one) over the bytes, fed in order."""

    def __init__(self, with_md5: bool) -> None:
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if with_md5 else None

    def update(self, data: bytes | bytearray) -> None:
        self.size += len(data)
        self._sha256.update(data)
        if self._md5 is not None:
            self._md5.update(data)

    @property
    def sha256_hex(self) -> str:
        return self._sha256.hexdigest()

    @property
    def md5_hex(self) -> str | None:
        return self._md5.hexdigest() if self._md5 is not None else None

    def check(self, expected: Expected) -> None:
        """Raise ChecksumMismatch unless every expected value matches."""
        if expected.size is not None and self.size != expected.size:
            raise ChecksumMismatch(f"size {self.size} != expected {expected.size}")
        if expected.sha256 is not None and self.sha256_hex != expected.sha256:
            raise ChecksumMismatch(f"sha256 {self.sha256_hex} != expected {expected.sha256}")
        if expected.md5 is not None and self.md5_hex != expected.md5:
            raise ChecksumMismatch(f"md5 {self.md5_hex} != expected {expected.md5}")
