# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The answer CD of a build (private): autounattend.xml packed into an ISO with pycdlib (pure Python; the
execution environment has no ISO tools), uploaded to the node's ISO storage and removed after the build.

PVE's upload (pve-storage src/PVE/API2/Storage/Status.pm, method `upload`): POST
/nodes/{node}/storage/{storage}/upload, multipart/form-data, Datastore.AllocateTemplate on the storage,
`content` iso, `filename` normalised to [a-zA-Z0-9_.-] with an .iso/.img extension, optional `checksum` +
`checksum-algorithm` (sha256 checked by the worker), answers a UPID (task imgcopy). pve-http-server
(src/PVE/APIServer/AnyEvent.pm, file_upload_multipart) reads the fields content, checksum-algorithm, checksum
first and the file part, named `filename`, last. The upload is not proxied to the node: it lands on the
node the API host runs on, which copies it on (scp) to the node named in the path.
"""

from __future__ import annotations

import hashlib
import io
import re

try:
    import pycdlib
    HAS_PYCDLIB = True
except ImportError:  # reported by the module with missing_required_lib
    HAS_PYCDLIB = False

from ._pve_errors import StoredeskError

VOLUME_LABEL = 'STOREDESK_ANSWER'


def pack(files):
    """ISO 9660 + Joliet image (bytes) with {name: bytes} at its root (Joliet keeps the long names)."""
    if not HAS_PYCDLIB:
        raise StoredeskError('the Python library pycdlib is not installed on the controller',
                             hint='pip install pycdlib (see requirements.txt); it builds the answer ISO')
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, vol_ident=VOLUME_LABEL)
    try:
        for i, (name, data) in enumerate(sorted(files.items())):
            short = '/{0}.{1};1'.format(re.sub(r'[^A-Z0-9_]', '_', name.rsplit('.', 1)[0].upper())[:8] or
                                        'FILE{0}'.format(i), name.rsplit('.', 1)[-1].upper()[:3])
            iso.add_fp(io.BytesIO(data), len(data), short, joliet_path='/' + name)
        out = io.BytesIO()
        iso.write_fp(out)
        return out.getvalue()
    finally:
        iso.close()


def file_name(image, version):
    """The ISO's name on the storage (PVE would normalise anything else to these characters)."""
    return re.sub(r'[^a-zA-Z0-9_.-]', '_', 'storedesk-answer-{0}-{1}.iso'.format(image, version))


def upload(client, node, storage, name, data, where):
    """Upload the ISO, wait for PVE's imgcopy task; returns the volume id <storage>:iso/<name>."""
    from ._vm_ops import DesktopOps
    digest = hashlib.sha256(data).hexdigest()
    path = client.path('nodes', node, 'storage', storage, 'upload')
    upid = _multipart_post(client, path, [('content', 'iso'), ('checksum-algorithm', 'sha256'),
                                          ('checksum', digest)], name, data)
    DesktopOps(client).wait(upid, where, 'upload of the answer ISO {0} to {1}'.format(name, storage))
    return '{0}:iso/{1}'.format(storage, name)


def remove(client, node, volid):
    """Delete the answer ISO (it holds the local admin's password); a missing one is fine."""
    storage = volid.split(':', 1)[0]
    from ._pve_errors import PveApiError
    try:
        answer = client.delete(client.path('nodes', node, 'storage', storage, 'content', volid))
    except PveApiError as exc:
        if exc.status == 404 or 'does not exist' in exc.pve_message:
            return
        raise
    if isinstance(answer, str) and answer.startswith('UPID:'):
        from ._vm_ops import DesktopOps
        DesktopOps(client).wait(answer, 'answer ISO', 'removal of {0}'.format(volid))


def _multipart_post(client, path, fields, name, data):
    """One multipart POST through the client's session (its token or ticket + CSRF, TLS settings, errors)."""
    client.login()
    headers = {}
    if client.token:
        headers['Authorization'] = client.token
    elif client.csrf:
        headers['CSRFPreventionToken'] = client.csrf
    files = [(k, (None, v)) for k, v in fields] + [('filename', (name, data, 'application/octet-stream'))]
    client._count('requests')
    import requests
    try:
        response = client.session.post(client.base + path, files=files, headers=headers,
                                       timeout=max(client.timeout, 600), verify=client.verify)
    except requests.exceptions.RequestException as exc:
        raise StoredeskError('upload of {0} to {1} failed: {2}'.format(name, client.host, exc),
                             hint='check the API host and its TLS settings') from None
    return client._decode('POST', path, response)
