"""Development and demo sandbox: the Google Workspace emulator, a local S3 server, fault
proxies, child-process helpers and the demo. Installed with the ``sandbox`` extra; production
code paths never import it."""
