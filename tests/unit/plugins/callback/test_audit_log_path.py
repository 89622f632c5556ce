"""audit_log's file: appended in a directory the user owns, created (0700) when missing, the file itself 0600."""

import os
import stat

from ansible_collections.storedesk.vdi.plugins.callback import audit_log


def test_a_missing_directory_is_created_private(tmp_path):
    cb = audit_log.CallbackModule()
    cb.path = str(tmp_path / 'state' / 'storedesk' / 'audit.jsonl')
    cb._append('{"line": 1}')
    cb._append('{"line": 2}')
    assert (tmp_path / 'state' / 'storedesk' / 'audit.jsonl').read_text() == '{"line": 1}\n{"line": 2}\n'
    assert stat.S_IMODE(os.stat(str(tmp_path / 'state' / 'storedesk')).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(cb.path).st_mode) == 0o600
