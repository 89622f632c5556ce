# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets from the environment or from a file the environment names (private).

`NAME` holds the secret itself; `NAME_FILE` the path of a file holding it (what an AWX credential type's `file`
injector gives: the secret stays in a mode-0600 file of the job's private data dir, and only its path is in the
process environment that ansible-runner records in artifacts/<job>/command).
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleFallbackNotFound


def secret_from_env(name, environ=None):
    """The secret of `name` (its variable, else the file `name`_FILE names, one trailing newline dropped), or None.
    A named file that cannot be read raises OSError with its path (never its content)."""
    environ = os.environ if environ is None else environ
    if environ.get(name):
        return environ[name]
    path = environ.get(name + '_FILE')
    if not path:
        return None
    with open(path, 'r') as handle:
        value = handle.read()
    return value[:-1] if value.endswith('\n') else value


def secret_fallback(*names):
    """An argspec fallback: `fallback=(secret_fallback, ['PROXMOX_TOKEN_SECRET'])`. An unreadable file counts as
    not set (the module then says which credential is missing; the estate role names the file before any run)."""
    for name in names:
        try:
            value = secret_from_env(name)
        except (OSError, UnicodeDecodeError):
            value = None
        if value:
            return value
    raise AnsibleFallbackNotFound
