# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files from the controller to a desktop over WinRM (private): the default way around the second hop.

A controller path (a file, or a folder that is zipped in memory) is sent in chunks through the shipped script
file-push/1 (_ps_sources.FILE_PUSH), each chunk one script run, the last one checking the file's SHA-256 on
the desktop. `run(script, payload, idempotent)` is the caller's runner for one desktop (a record as
_winrm_runner.run_on_desktop returns it).
"""

from __future__ import annotations

import base64
import hashlib
import io
import ntpath
import os
import zipfile

from ._ps_sources import FILE_PUSH
from ._pve_errors import StoredeskError

CHUNK = 1024 * 1024       # raw bytes per script run (base64 in JSON in the script text: ~1.8 MB through stdin)
REMOTE_DIR = 'C:\\Windows\\Temp\\storedesk-push'


class PushError(StoredeskError):
    """A push that did not arrive intact."""


def read_source(local_path):
    """(bytes, file name on the desktop): a file as it is, a folder as a zip of its content."""
    if os.path.isdir(local_path):
        out = io.BytesIO()
        with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as archive:
            for folder, _dirs, files in sorted(os.walk(local_path)):
                for name in sorted(files):
                    full = os.path.join(folder, name)
                    archive.write(full, os.path.relpath(full, local_path))
        return out.getvalue(), os.path.basename(os.path.normpath(local_path)) + '.zip'
    if not os.path.isfile(local_path):
        raise PushError('{0} does not exist on the controller'.format(local_path),
                        hint='give a file or folder the controller can read (it is pushed over WinRM)')
    with open(local_path, 'rb') as handle:
        return handle.read(), os.path.basename(local_path)


def chunks(data, remote_path, size=CHUNK):
    """The file-push/1 inputs for data, in order."""
    digest = hashlib.sha256(data).hexdigest()
    offsets = list(range(0, len(data), size)) or [0]
    return [{'path': remote_path, 'offset': off, 'data': base64.b64encode(data[off:off + size]).decode('ascii'),
             'last': off == offsets[-1], 'sha256': digest} for off in offsets]


def push_bytes(run, data, remote_path, size=CHUNK):
    """Send data to remote_path; returns {'path', 'bytes', 'sha256', 'runs'}; PushError naming the chunk."""
    parts = chunks(data, remote_path, size)
    result = None
    for i, payload in enumerate(parts):
        record = run(FILE_PUSH, payload, True)
        if not record['ok']:
            raise PushError('push of {0} ({1} bytes) stopped at chunk {2} of {3}: {4}'.format(
                remote_path, len(data), i + 1, len(parts), record['error']))
        result = record['result'] or {}
    if result.get('sha256') != parts[-1]['sha256']:
        raise PushError('push of {0}: the desktop did not confirm SHA-256 {1}'.format(remote_path, parts[-1]['sha256']))
    return {'path': remote_path, 'bytes': len(data), 'sha256': parts[-1]['sha256'], 'runs': len(parts)}


def push_source(run, local_path, remote_dir=REMOTE_DIR, size=CHUNK):
    """Push a controller file or folder (zipped); returns the record with the path on the desktop."""
    data, name = read_source(local_path)
    return push_bytes(run, data, ntpath.join(remote_dir, name), size)


def run_after_pushes(options, desktops, script, payload, pushes, idempotent=True, one=None):
    """Like _winrm_runner.run_on_desktops, with files pushed to each desktop first.

    pushes: [(key, controller path)]; each key of payload['drivers'][i]['package'] equal to a pushed key is
    replaced by the path on that desktop. A push that fails ends the desktop's record with its error.
    """
    from concurrent.futures import ThreadPoolExecutor
    if one is None:
        from ._winrm_runner import run_on_desktop as one

    def desktop_run(desktop):
        def runner(script, data, idem):
            return one(options, desktop, script, data, idem)
        remote = {}
        try:
            for key, local in pushes:
                remote[key] = push_source(runner, local)['path']
        except PushError as exc:
            return dict(name=desktop.get('name'), address=desktop.get('address'), ok=False, changed=False,
                        result=None, error=str(exc), error_category='script', attempts=1, elapsed=0.0)
        data = dict(payload, drivers=[dict(d, package=remote.get(d['package'], d['package']))
                                      for d in payload.get('drivers') or []])
        return one(options, desktop, script, data, idempotent)

    desktops = list(desktops)
    if not desktops:
        return []
    with ThreadPoolExecutor(max_workers=min(options.concurrency, len(desktops))) as pool:
        return list(pool.map(desktop_run, desktops))
