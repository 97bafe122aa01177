"""A keyring backend over a JSON file, for tests: the real keyring library, a backend
this machine can run (no desktop secret service). Chosen by PYTHON_KEYRING_BACKEND;
the file is {service: {username: password}}, named by PYPI_MIRROR_TEST_KEYRING."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.credentials import SimpleCredential


class FileKeyring(KeyringBackend):
    priority = 1

    def _entries(self, service: str) -> dict:
        return json.loads(Path(os.environ["PYPI_MIRROR_TEST_KEYRING"]).read_text()).get(service, {})

    def get_password(self, service, username):
        return self._entries(service).get(username)

    def get_credential(self, service, username):
        entries = self._entries(service)
        if username is None and entries:
            username = next(iter(entries))
        return SimpleCredential(username, entries[username]) if username in entries else None

    def set_password(self, service, username, password):
        raise NotImplementedError("read-only test keyring")

    def delete_password(self, service, username):
        raise NotImplementedError("read-only test keyring")
