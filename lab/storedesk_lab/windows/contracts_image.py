"""The lab's file servers, as tests arrange them (the golden image's sources).

Reached only where Windows lets a WinRM session reach them: over HTTP(S), or at a UNC share the script
connected to with explicit credentials (the second hop, see providers.py). Keys are lower-case paths.
INSTALL_EXIT_CODES: an installer's exit code by its source; DRIVER_PACKAGES: the files a driver package
folder holds; MISSING_FILES: sources that are not there.
"""

from __future__ import annotations

MISSING_FILES = set()
INSTALL_EXIT_CODES = {}
DRIVER_PACKAGES = {}
