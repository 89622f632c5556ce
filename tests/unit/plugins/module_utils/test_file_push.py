"""Files pushed from the controller over WinRM in chunks with a SHA-256 check (the default way around the second hop).

The desktop side is file-push/1 as its statements read: chunk at `offset` after truncating there, the last chunk
compared with Get-FileHash; here a small stand-in with those semantics, so the controller side can be broken on
purpose. (The script itself runs on the lab's interpreter in the integration tests.)
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils import _file_push as fp
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_sources import FILE_PUSH


class Desktop(object):
    def __init__(self, flip_byte_at=None, fail_chunk=None):
        self.files, self.runs = {}, []
        self.flip_byte_at, self.fail_chunk = flip_byte_at, fail_chunk

    def run(self, script, payload, idempotent):
        assert script is FILE_PUSH and idempotent
        self.runs.append(payload)
        if self.fail_chunk is not None and len(self.runs) == self.fail_chunk:
            return {'ok': False, 'error': 'The network path was not found.', 'result': None}
        data = base64.b64decode(payload['data'])
        current = self.files.get(payload['path'], b'') if payload['offset'] else b''
        if len(current) < payload['offset']:
            return {'ok': False, 'error': 'the file holds {0} bytes'.format(len(current)), 'result': None}
        content = current[:payload['offset']] + data
        if self.flip_byte_at is not None and payload['offset'] <= self.flip_byte_at < len(content):
            content = content[:self.flip_byte_at] + b'\x00' + content[self.flip_byte_at + 1:]
        self.files[payload['path']] = content
        result = {'path': payload['path'], 'bytes': len(content), 'sha256': None}
        if payload['last']:
            digest = hashlib.sha256(content).hexdigest()
            if digest != payload['sha256']:
                del self.files[payload['path']]
                return {'ok': False, 'error': 'SHA-256 of {0} is {1}'.format(payload['path'], digest), 'result': None}
            result['sha256'] = digest
        return {'ok': True, 'result': result}


def test_a_file_arrives_intact_in_chunks():
    data = os.urandom(2 * 1000 + 345)
    desktop = Desktop()
    done = fp.push_bytes(desktop.run, data, 'C:\\Windows\\Temp\\storedesk-push\\pkg.zip', size=1000)
    assert desktop.files['C:\\Windows\\Temp\\storedesk-push\\pkg.zip'] == data
    assert done['runs'] == 3 and [r['offset'] for r in desktop.runs] == [0, 1000, 2000]
    assert [r['last'] for r in desktop.runs] == [False, False, True]
    assert done['sha256'] == hashlib.sha256(data).hexdigest()


def test_an_empty_file_is_one_run():
    desktop = Desktop()
    assert fp.push_bytes(desktop.run, b'', 'C:\\x\\empty.txt', size=1000)['runs'] == 1
    assert desktop.files['C:\\x\\empty.txt'] == b''


def test_a_corrupted_copy_is_refused_and_removed():
    desktop = Desktop(flip_byte_at=1500)
    with pytest.raises(fp.PushError, match='chunk 2 of 2: SHA-256'):
        fp.push_bytes(desktop.run, b'a' * 2000, 'C:\\x\\pkg.zip', size=1000)
    assert 'C:\\x\\pkg.zip' not in desktop.files


def test_a_failed_chunk_names_where_it_stopped():
    desktop = Desktop(fail_chunk=2)
    with pytest.raises(fp.PushError, match=r'stopped at chunk 2 of 3: The network path was not found'):
        fp.push_bytes(desktop.run, b'b' * 2500, 'C:\\x\\pkg.zip', size=1000)


def test_a_folder_is_pushed_as_a_zip_of_its_content(tmp_path):
    folder = tmp_path / 'zebra'
    (folder / 'x64').mkdir(parents=True)
    (folder / 'ZDesigner.inf').write_text('[Version]\n')
    (folder / 'x64' / 'zd.sys').write_bytes(b'\x00\x01')
    desktop = Desktop()
    done = fp.push_source(desktop.run, str(folder), size=64)
    assert done['path'] == 'C:\\Windows\\Temp\\storedesk-push\\zebra.zip'
    import io
    import zipfile
    names = zipfile.ZipFile(io.BytesIO(desktop.files[done['path']])).namelist()
    assert sorted(names) == ['ZDesigner.inf', 'x64/zd.sys']
    with pytest.raises(fp.PushError, match='does not exist on the controller'):
        fp.push_source(desktop.run, str(tmp_path / 'missing.msi'))
