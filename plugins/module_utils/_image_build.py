# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden_image's road (private): build VM -> guest -> manifest steps over WinRM -> sysprep -> template.

create/clone build-<image>-<version> (tags storedesk;role-build) -> start -> guest agent IP -> WinRM
answers -> each manifest step as ONE script run (recorded) -> [reboot if a step asked] -> sysprep
/generalize /oobe /shutdown /quiet -> wait for power-off -> convert to template -> name
tpl-<image>-<version>, tags storedesk;image-<name>;v-<version>, description with the manifest hash.

The image tags are written last, in one config write: until then nothing in the region sees the
VM as a version of the image. Any failure: the build VM is kept (renamed failed-<image>-<version>,
tagged failed) or removed (on_failure), and the error names the step and Windows' own message.
The build VM itself (VMID, a rival build, ISO or clone, answer ISO) is made by _image_vm.BuildVm.
"""

from __future__ import annotations

import copy
import re
import time

from . import _image_sources as sources_mod
from . import _image_spec as spec_mod
from . import _unattend as unattend_mod
from ._inventory_hosts import first_ipv4
from ._vm_ops import DesktopOps
from ._image_plan import new_template_tags
from ._image_vm import BuildVm
from ._pve_errors import PveApiError, PveTimeoutError, StoredeskError
from ._file_push import PushError, push_source
from ._ps_image import STEP_SCRIPTS
from ._ps_sysprep import IMAGE_READY, IMAGE_SYSPREP
from ._retry import Pacer

TIMEOUTS = {'guest_ip': 3600, 'winrm': 900, 'sysprep': 1800, 'task': 900}
SYSPREP_LOOK = 60      # seconds between looks at a running sysprep while waiting for the power-off
FATAL_WINRM = ('auth', 'tls', 'config', 'protocol', 'script')


class StepError(StoredeskError):
    """A manifest step Windows refused: `step` (ours) and `sub_step` (the script's own)."""


class ImageBuild(BuildVm):
    """One build of one version in one region."""

    def __init__(self, client, spec, winrm_options, run_script=None, poll=1.0, timeouts=None, pacer=None):
        self.client, self.spec, self.options = client, spec, winrm_options
        self.timeouts = dict(TIMEOUTS, **dict((k, v) for k, v in (timeouts or {}).items() if v))
        self.ops = DesktopOps(client, task_timeout=self.timeouts['task'])
        self.poll = poll
        self.pacer = pacer or Pacer()
        self.vm = None              # {'vmid', 'node', 'name'}
        self.steps = []             # one record per manifest step
        self.address = None
        self.stage = None
        self._run_script = run_script
        self.where = 'image {0} {1}'.format(spec['name'], spec['version'])
        self.answer_iso = None      # volume id of the answer ISO this build uploaded

    # ------------------------------------------------------------------ the road

    def run(self, source):
        began = time.monotonic()
        try:
            self.stage = 'create build VM'
            self._make_vm(source)
            self._boot()
            reboot = False
            for step in sources_mod.steps(self.spec):
                self.stage = step['id']
                record = self._step(step)
                reboot = reboot or bool((record.get('result') or {}).get('reboot_required'))
            if reboot:
                self.stage = 'reboot'
                self._vm_task(('status', 'reboot'), 'reboot after a step asked for it')
                self._boot(start=False)
            self.stage = 'sysprep'
            self._sysprep()
            self.stage = 'wait for power-off'
            self._wait_off()
            self.stage = 'convert to template'
            self._finish()
            self.stage = 'remove answer ISO'
            answer = self._clear_answer_iso(eject=False)    # _finish ejected it; a refusal must not undo the template
        except Exception as exc:
            self._handle_failure(exc)
            raise
        return {'vm': dict(self.vm), 'address': self.address, 'steps': self.steps, 'answer_iso': answer,
                'warnings': [self._answer_note(answer)] if answer and answer != 'removed' else [],
                'elapsed': round(time.monotonic() - began, 1)}

    def _vm_task(self, action, what):
        path = self.client.path('nodes', self.vm['node'], 'qemu', self.vm['vmid'], *action)
        return self.ops.retry_locked(lambda: self.ops.wait(self.client.post(path), self.where, what), self.where)

    def _boot(self, start=True):
        if start:
            self.stage = 'start'
            self.ops.start(self.vm['node'], self.vm['vmid'], self.where)
        self.stage = 'wait for guest agent IP'
        self.address = self._wait_ip()
        self.stage = 'wait for WinRM'
        self._wait_winrm()

    # ------------------------------------------------------------------ waits

    def _deadline_loop(self, secs):
        """Looks at a state until `secs` pass: 0.2 s apart at first, growing to 5 x poll (the one Pacer)."""
        return self.pacer.ticks(secs, first=min(self.poll, 0.2), cap=self.poll * 5, factor=1.5, step=0.05)

    def _vm_label(self):
        return 'build VM {0} (vmid {1})'.format(self.vm['name'], self.vm['vmid'])

    def _wait_ip(self):
        path = self.client.path('nodes', self.vm['node'], 'qemu', self.vm['vmid'], 'agent', 'network-get-interfaces')
        last = None
        for _tick in self._deadline_loop(self.timeouts['guest_ip']):
            try:
                address = first_ipv4(self.client.get(path) or {})
                if address:
                    return address
                last = 'the agent answered without an IPv4 address'
            except PveApiError as exc:
                last = exc.pve_message
        raise PveTimeoutError('{0} got no IP address from the QEMU guest agent within {1}s (last answer: {2})'.format(
            self._vm_label(), self.timeouts['guest_ip'], last), where=self.where,
            hint='the guest agent is missing or not running: install qemu-ga from the virtio-win ISO in the image '
                 '(answer file or base VM), and give the build network DHCP')

    def _script(self, script, payload, timeout, idempotent=True, retries=None):
        options = copy.copy(self.options)
        options.operation_timeout = max(1, int(timeout))
        if retries is not None:
            options.retries = retries
        desktop = {'name': self.vm['name'], 'address': self.address}
        if self._run_script is not None:
            return self._run_script(options, desktop, script, payload, idempotent)
        from ._winrm_runner import run_on_desktop
        return run_on_desktop(options, desktop, script, payload, idempotent=idempotent)

    def _wait_winrm(self):
        record = None
        for _tick in self._deadline_loop(self.timeouts['winrm']):
            record = self._script(IMAGE_READY, {}, 60, retries=0)
            if record['ok']:
                return record['result']
            if record['error_category'] in FATAL_WINRM:
                break
        raise PveTimeoutError('{0} answers the guest agent at {1} but not WinRM{2}: {3}'.format(
            self._vm_label(), self.address,
            '' if record and record['error_category'] in FATAL_WINRM else ' within {0}s'.format(self.timeouts['winrm']),
            record['error'] if record else 'no attempt'), where=self.where,
            hint='the image must enable WinRM (Enable-PSRemoting in the answer file or base VM) for winrm_user')

    def _wait_off(self):
        """Until sysprep powers the VM off: a look at sysprep every SYSPREP_LOOK seconds; its log tail on failure."""
        path = self.client.path('nodes', self.vm['node'], 'qemu', self.vm['vmid'], 'status', 'current')
        next_look = self.pacer.clock() + SYSPREP_LOOK
        for _tick in self._deadline_loop(self.timeouts['sysprep']):
            if (self.client.get(path) or {}).get('status') == 'stopped':
                return
            if self.pacer.clock() >= next_look:
                next_look = self.pacer.clock() + SYSPREP_LOOK
                facts = self._sysprep_facts()
                if facts and facts.get('running') is False:
                    raise StepError('sysprep ended on {0} without powering it off{1}'.format(
                        self._vm_label(), self._log_text(facts)), where=self.where, step='sysprep')
        facts = self._sysprep_facts()
        raise PveTimeoutError('sysprep did not power off {0} within {1}s{2}'.format(
            self._vm_label(), self.timeouts['sysprep'], self._log_text(facts)), where=self.where,
            hint=r'read C:\Windows\System32\Sysprep\Panther\setuperr.log on the VM (on_failure=keep '
                 'leaves it running for that)')

    def _sysprep_facts(self):
        """image-ready/1 with the sysprep facts (running, log tail), or None when WinRM does not answer."""
        try:
            record = self._script(IMAGE_READY, {'sysprep': True}, 60, retries=0)
        except Exception:  # noqa: BLE001 - a look that fails must not hide the build's own outcome
            return None
        return (record.get('result') or {}).get('sysprep') if record.get('ok') else None

    @staticmethod
    def _log_text(facts):
        log = (facts or {}).get('log') or {}
        parts = ['{0} (last lines):\n{1}'.format(name, log[name][-3000:]) for name in ('setuperr.log', 'setupact.log')
                 if log.get(name)]
        return ('; ' + '\n'.join(parts)) if parts else ''

    # ------------------------------------------------------------------ steps

    def _pushed(self, step):
        """The step's input with every controller path pushed to the VM first (the default way: no second hop)."""
        payload = copy.deepcopy(step['payload'])
        entries = payload['files'] if step['kind'] == 'files' else [payload]
        for entry in entries:
            source = entry.get('source')
            if source and sources_mod.source_kind(source) == 'push':
                try:
                    done = push_source(lambda script, data, idem: self._script(script, data, 300, idempotent=idem),
                                       source)
                except PushError as exc:
                    raise StepError('manifest step {0!r} (push) failed on {1}: {2}'.format(
                        step['id'], self._vm_label(), exc.message), where=self.where, step=step['id']) from None
                entry['source'] = done['path']
        return payload

    def _step(self, step):
        began = time.monotonic()
        idempotent = step['kind'] not in ('software', 'driver')
        payload = self._pushed(step)
        run = self._script(STEP_SCRIPTS[step['kind']], payload, step['timeout'], idempotent=idempotent)
        record = {'step': step['id'], 'kind': step['kind'], 'ok': run['ok'], 'changed': run['changed'],
                  'elapsed': round(time.monotonic() - began, 2), 'result': run['result']}
        if not run['ok']:
            record.update(error=run['error'], error_category=run['error_category'], sub_step=run.get('error_step'))
        self.steps.append(record)
        if not run['ok']:
            inner = ' ({0})'.format(record['sub_step']) if record.get('sub_step') else ''
            text = 'manifest step {0!r}{1} failed on {2}: {3}'.format(step['id'], inner, self._vm_label(), run['error'])
            raise StepError(text, where=self.where, step=step['id'])
        return record

    def _sysprep(self):
        sysprep = dict(self.spec['manifest']['sysprep'])
        unattend = self.spec.get('unattend') or {}
        if unattend.get('oobe'):   # the clones' OOBE answered (no_log: the payload holds the admin password)
            sysprep.update(unattend_xml=unattend_mod.oobe_xml(unattend).decode('utf-8'),
                           unattend_path=unattend_mod.SYSPREP_UNATTEND)
        began = time.monotonic()
        run = self._script(IMAGE_SYSPREP, sysprep, 120, idempotent=False)
        record = {'step': 'sysprep', 'kind': 'sysprep', 'ok': run['ok'], 'changed': run['changed'],
                  'elapsed': round(time.monotonic() - began, 2), 'result': run['result']}
        self.steps.append(record)
        if not run['ok']:
            record.update(error=run['error'], error_category=run['error_category'])
            raise StepError('manifest step \'sysprep\' failed on {0}: {1}'.format(self._vm_label(), run['error']),
                            where=self.where, step='sysprep')

    # ------------------------------------------------------------------ finish / failure

    def _finish(self):
        spec, node, vmid = self.spec, self.vm['node'], self.vm['vmid']
        config = self.ops.config(node, vmid, self.where)
        ejects = dict((k, 'none,media=cdrom') for k, v in config.items()
                      if re.match(r'^(ide|sata)\d+$', k) and 'media=cdrom' in str(v) and not str(v).startswith('none'))
        if ejects:
            self.ops.put_config(node, vmid, self.where, **ejects)
        self._vm_task(('template',), 'convert to template')
        built = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        self.ops.put_config(node, vmid, self.where, name=spec['template_name'], tags=new_template_tags(spec),
                            description=spec_mod.description(spec, built))
        self.vm.update(name=spec['template_name'], built=built, template=True)

    def _handle_failure(self, exc):
        """Keep (renamed failed-*, running) or remove the build VM; eject and delete the answer ISO either way
        (it holds the local admin password). Every outcome, a failed cleanup too, goes into the error message."""
        if self.vm is None:
            answer = self._clear_answer_iso(eject=False)
            if answer and isinstance(exc, StoredeskError):
                exc.message = '{0}; {1}'.format(exc.message, self._answer_note(answer))
            return
        node, vmid = self.vm['node'], self.vm['vmid']
        lost_race = 'another run started building' in str(exc)
        try:
            if self.ops.find(vmid) is None:
                self.vm['outcome'] = 'not created'
            elif self.spec['on_failure'] == 'remove' or lost_race:
                status = (self.client.get(self.client.path('nodes', node, 'qemu', vmid, 'status', 'current')) or {})
                if status.get('status') == 'running':
                    self.ops.stop(node, vmid, self.where)
                self.ops.destroy(node, vmid, self.where)
                self.vm['outcome'] = 'removed'
            else:
                name = spec_mod.failed_name(self.spec['name'], self.spec['version'])
                note = 'storedesk build of image {0} {1} FAILED: {2}'.format(
                    self.spec['name'], self.spec['version'], str(exc)[:2000])
                self.ops.put_config(node, vmid, self.where, name=name, tags=spec_mod.FAILED_TAGS, description=note)
                self.vm.update(name=name, outcome='kept')
        except StoredeskError as cleanup:
            self.vm['outcome'] = 'cleanup failed: {0}'.format(cleanup)
        # a VM still there (kept, or its removal failed) has the ISO in a CD slot: eject it first
        answer = self._clear_answer_iso(eject=self.vm['outcome'] not in ('removed', 'not created'))
        if answer:
            self.vm['answer_iso'] = answer
        if isinstance(exc, StoredeskError):
            exc.message = '{0}; {1} {2}'.format(exc.message, 'build VM vmid {0}'.format(vmid), {
                'kept': 'kept for inspection as {0}'.format(self.vm['name']),
                'removed': 'removed (on_failure=remove)' if not lost_race else 'removed',
                'not created': 'was not created'}.get(self.vm.get('outcome'), self.vm.get('outcome')))
            if answer:
                exc.message = '{0}; {1}'.format(exc.message, self._answer_note(answer))

    # ------------------------------------------------------------------ the answer ISO

    def _clear_answer_iso(self, eject):
        """Eject our answer ISO from the build VM (eject=True) and delete it from the storage. Returns None (no
        ISO of ours), 'removed' or 'NOT removed: <why>'; never raises (the caller reports it).

        PVE deletes an ISO still named in a VM config (pve-storage src/PVE/Storage.pm `vdisk_free` checks only
        base volumes of linked clones), so the CD slot is emptied first: qemu-server update_vm_api checks
        VM.Config.CDROM for a cdrom drive (`$check_drive_perms`), and a running VM takes the change at once
        (src/PVE/QemuServer.pm `vmconfig_hotplug_pending` -> `vmconfig_update_disk`, cdrom branch: change_medium /
        on stable-bookworm the monitor's `eject`), for any `hotplug` setting."""
        volid = self.answer_iso
        if not volid:
            return None
        why = []
        if eject and self.vm:
            try:
                config = self.ops.config(self.vm['node'], self.vm['vmid'], self.where)
                slots = dict((k, 'none,media=cdrom') for k, v in config.items()
                             if re.match(r'^(ide|sata|scsi)\d+$', k) and str(v).split(',', 1)[0] == volid)
                if slots:
                    self.ops.put_config(self.vm['node'], self.vm['vmid'], self.where, **slots)
            except StoredeskError as exc:
                why.append('eject from the build VM failed: {0}'.format(exc))
        try:
            self._remove_answer_iso()
        except StoredeskError as exc:
            why.append(str(exc))
        if self.answer_iso:
            return 'NOT removed: {0}'.format('; '.join(why))
        return 'removed' if not why else 'removed ({0})'.format('; '.join(why))

    def _answer_note(self, answer):
        if answer.startswith('removed'):
            return 'answer ISO removed: it holds the local admin password' + answer[len('removed'):]
        volid = self.answer_iso
        return ('answer ISO {0} {1}; delete it now, it holds the local admin password (Datastore.Allocate on '
                '/storage/{2} is needed to delete it)'.format(volid, answer, volid.split(':', 1)[0]))
