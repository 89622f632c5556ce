# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: audit_log
type: notification
short_description: One JSON line per changed or failed task, for the audit trail
version_added: 0.1.0
description:
  - Appends one JSON object per line to a file for every task that changed something or failed, on every
    host - the time (UTC), who ran the play (the AWX/Tower launching user when present, else the local
    user), the AWX job id, the playbook, play and task, the host, the module (its resolved FQCN), the store,
    what changed (the module's diff when it returned one, else its C(plan) or C(changes)), and the result
    (C(ok), C(failed) or C(unreachable) with the message).
  - Secrets never reach the file - values of keys that look secret (password, secret, token, ticket,
    passphrase) are replaced, and every raw value the task gave for an option the module declared
    C(no_log) (Ansible returns those as C(VALUE_SPECIFIED_IN_NO_LOG_PARAMETER)) is blanked wherever it
    appears. Results of C(no_log) tasks are logged as Ansible censored them.
  - Check-mode runs are logged with C(check_mode=true) (what would change).
author:
  - storedesk.vdi maintainers (@storedesk)
requirements:
  - enable it with C(callbacks_enabled = storedesk.vdi.audit_log) in C(ansible.cfg) or
    E(ANSIBLE_CALLBACKS_ENABLED)
options:
  path:
    description:
      - File the lines are appended to (created with mode 0600; a missing directory is created with mode 0700).
      - Keep it outside the collection, which may be installed read-only (the default is in the user's home).
    type: path
    default: ~/.ansible/storedesk-audit.jsonl
    env:
      - name: STOREDESK_AUDIT_LOG
    ini:
      - section: callback_audit_log
        key: path
'''

import datetime
import fcntl
import getpass
import json
import os
import re

from ansible import context
from ansible.plugins.callback import CallbackBase

SECRET_KEY = re.compile(r'pass(word|wd|phrase)?$|passphrase|password|secret|token|ticket', re.I)
NO_LOG = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
REDACTED = '********'
AWX_USER = ('awx_user_name', 'tower_user_name')
AWX_JOB = ('awx_job_id', 'tower_job_id')


def redact(value):
    """A copy with the values of secret-looking keys replaced."""
    if isinstance(value, dict):
        return dict((k, REDACTED if SECRET_KEY.search(str(k)) and v not in (None, '', False) else redact(v))
                    for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def secrets_of(args, shown=None, found=None):
    """Raw values the task gave for secret-looking keys, or for options the module echoed as no_log."""
    found = set() if found is None else found
    if isinstance(args, dict):
        for key, value in args.items():
            echo = shown.get(key) if isinstance(shown, dict) else None
            if isinstance(value, (str, int)) and not isinstance(value, bool) and (
                    SECRET_KEY.search(str(key)) or echo == NO_LOG):
                if len(str(value)) >= 3:
                    found.add(str(value))
            else:
                secrets_of(value, echo, found)
    elif isinstance(args, (list, tuple)):
        for pos, value in enumerate(args):
            echo = shown[pos] if isinstance(shown, list) and pos < len(shown) else None
            secrets_of(value, echo, found)
    return found


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = 'storedesk.vdi.audit_log'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.path = None
        self.playbook = None
        self.play = None
        self.variables = None
        self.extra = {}
        self.stores = {}

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.path = os.path.expanduser(self.get_option('path'))

    # ------------------------------------------------------------ playbook events

    def v2_playbook_on_start(self, playbook):
        self.playbook = os.path.basename(getattr(playbook, '_file_name', '') or '')

    def v2_playbook_on_play_start(self, play):
        self.play = play
        try:
            self.variables = play.get_variable_manager()
            self.extra = dict(self.variables.extra_vars)
        except Exception:  # noqa: BLE001 - an audit line without AWX data beats no line
            self.variables, self.extra = None, {}

    def v2_runner_on_ok(self, result):
        if result._result.get('changed'):
            self._log(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._log(result, 'failed')

    def v2_runner_on_unreachable(self, result):
        self._log(result, 'unreachable')

    # ------------------------------------------------------------ the line

    def _who(self):
        for key in AWX_USER:
            if self.extra.get(key):
                return str(self.extra[key])
        try:
            return getpass.getuser()
        except Exception:  # noqa: BLE001
            return None

    def _job(self):
        for key in AWX_JOB:
            if self.extra.get(key):
                return str(self.extra[key])
        return os.environ.get('JOB_ID') or None

    def _store(self, args, host):
        if isinstance(args.get('store'), str):
            return args['store']
        if isinstance(args.get('stores'), list):
            codes = [s.get('code') if isinstance(s, dict) else s for s in args['stores']]
            codes = [str(c) for c in codes if c]
            if codes:
                return codes[0] if len(codes) == 1 else codes
        return self._host_store(host)

    def _host_store(self, host):
        """The host's store_code var, templated (cached per host)."""
        name = host.get_name()
        if name not in self.stores:
            code = host.vars.get('store_code')
            if self.variables is not None:
                try:
                    from ansible.template import Templar
                    hostvars = self.variables.get_vars(play=self.play, host=host)
                    if 'store_code' in hostvars:
                        code = Templar(loader=self.variables._loader, variables=hostvars).template(
                            hostvars['store_code'])
                except Exception:  # noqa: BLE001
                    pass
            self.stores[name] = str(code) if code and '{{' not in str(code) else None
        return self.stores[name]

    @staticmethod
    def _check_mode(task):
        value = getattr(task, 'check_mode', None)
        if isinstance(value, bool):
            return value
        return bool(context.CLIARGS.get('check', False))

    @staticmethod
    def _changes(res):
        if res.get('diff'):
            return res['diff']
        for key in ('plan', 'changes'):
            if res.get(key):
                return res[key]
        items = [r for r in res.get('results') or [] if isinstance(r, dict) and r.get('changed')]
        picked = [CallbackModule._changes(r) for r in items]
        return [p for p in picked if p] or None

    def _log(self, result, outcome):
        res = result._result
        task = result._task
        fields = getattr(result, '_task_fields', None) or {}
        args = fields.get('args') if isinstance(fields.get('args'), dict) else (task.args or {})
        shown = (res.get('invocation') or {}).get('module_args') or {}
        secrets = secrets_of(args, shown) | secrets_of(task.args or {}, shown)
        line = {
            'time': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
            'user': self._who(), 'job_id': self._job(), 'playbook': self.playbook,
            'play': self.play.get_name() if self.play else None, 'task': task.get_name(),
            'host': result._host.get_name(),
            'module': getattr(task, 'resolved_action', None) or task.action,
            'store': self._store(args, result._host), 'check_mode': self._check_mode(task),
            'changed': bool(res.get('changed')), 'result': outcome,
            'msg': res.get('msg') if outcome != 'ok' else None,
            'changes': redact(self._changes(res)),
        }
        if res.get('censored'):
            line['changes'], line['msg'] = None, res['censored']
        text = json.dumps(line, sort_keys=True, default=str)
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(json.dumps(secret)[1:-1], REDACTED)
        self._append(text)

    def _append(self, text):
        try:
            if not os.path.isdir(os.path.dirname(self.path) or '.'):
                os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, 'a', encoding='utf-8') as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                fh.write(text + '\n')
        except OSError as exc:
            self._display.warning('storedesk.vdi.audit_log: cannot write {0}: {1}'.format(self.path, exc))
