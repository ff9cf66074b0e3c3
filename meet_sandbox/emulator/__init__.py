"""Google Workspace emulator: Calendar v3, Meet v2, Drive v3 and OAuth2 on one loopback port.

The offline sandbox of meet-archive and what every test talks to through the real
google-api-python-client. See docs/emulator.md for the control API under `/_emulator/`.
"""

from .accounts import DEFAULT_CLIENT_EMAIL, write_service_account
from .client import SandboxClient, SandboxError
from .server import EmulatorServer, serve

__all__ = [
    "DEFAULT_CLIENT_EMAIL",
    "EmulatorServer",
    "SandboxClient",
    "SandboxError",
    "serve",
    "write_service_account",
]
