# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors of the storedesk.vdi plugins (private).

Every error carries a one-line message that says what failed, where, and what to do.
main() turns any of them into a single fail_json; nothing here may hold a secret.
"""

from __future__ import annotations


class StoredeskError(Exception):
    """Base: `message` says what failed; `hint` what to do; `where` the store/desktop/node."""

    def __init__(self, message, hint=None, where=None, **details):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where
        self.details = details

    def __str__(self):
        text = self.message
        if self.where:
            text = '{0}: {1}'.format(self.where, text)
        if self.hint:
            text = '{0} ({1})'.format(text, self.hint)
        return text


class InputError(StoredeskError):
    """Bad input, found before anything was changed."""


class PveConnectionError(StoredeskError):
    """The API could not be reached. `sent` is True when the request may have reached PVE."""

    def __init__(self, message, hint=None, where=None, sent=False, **details):
        super().__init__(message, hint, where, **details)
        self.sent = sent


class PveTlsError(PveConnectionError):
    """The certificate could not be verified."""


class PveApiError(StoredeskError):
    """PVE answered with an error status."""

    def __init__(self, status, method, path, pve_message, errors=None, hint=None, where=None):
        text = '{0} {1} failed with HTTP {2}: {3}'.format(method, path, status, (pve_message or '').strip())
        if errors:
            text += ' [' + '; '.join('{0}: {1}'.format(k, str(v).strip()) for k, v in sorted(errors.items())) + ']'
        super().__init__(text, hint, where)
        self.status = status
        self.method = method
        self.path = path
        self.pve_message = (pve_message or '').strip()
        self.errors = errors or {}

    @property
    def lock_timeout(self):
        """PVE's `can't lock file ... got timeout`: another task holds the config lock; safe to retry."""
        return "can't lock file" in self.pve_message and 'got timeout' in self.pve_message

    @property
    def already_exists(self):
        """A VMID taken between our read and our write (another run got there first)."""
        text = self.pve_message
        return 'already exists' in text or 'config file already exists' in text


class PveAuthError(PveApiError):
    """401: wrong credentials, unknown token, or a ticket that expired or was revoked.

    Since pve-manager 8.4.17 / 9.1.5 every failed authentication reads `Authentication failed!`
    (pve-manager PVE/HTTPServer.pm, auth_handler: commit 26c10a2e on master, d3973e63 on stable-8)."""


class PvePermissionError(PveApiError):
    """403: the user or token lacks a privilege."""


class PveTaskError(StoredeskError):
    """A UPID task ended with an error; `log_tail` has the task log's last lines."""

    def __init__(self, message, upid=None, exitstatus=None, log_tail=(), hint=None, where=None):
        if log_tail:
            message = '{0}; task log: {1}'.format(message, ' | '.join(log_tail))
        super().__init__(message, hint, where)
        self.upid = upid
        self.exitstatus = exitstatus
        self.log_tail = list(log_tail)


class PveTaskWatchError(StoredeskError):
    """The task list of a node could not be read for a while: the task's outcome is UNKNOWN (not failed).

    Callers must not treat it as a task failure (no clone is sent again because of it)."""

    def __init__(self, message, node=None, upid=None, seconds=0.0, cause=None, hint=None, where=None):
        super().__init__(message, hint, where)
        self.node = node
        self.upid = upid
        self.seconds = seconds
        self.cause = cause


class PveTimeoutError(StoredeskError):
    """Waited past a deadline (a task, a guest agent, WinRM)."""
