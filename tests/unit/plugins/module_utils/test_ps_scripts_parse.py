"""Every shipped PowerShell script parses, follows the contract, and carries hostile input intact."""

from __future__ import annotations

import glob
import importlib
import json
import os
import re

import pytest
import tree_sitter
import tree_sitter_powershell

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULE_UTILS = os.path.join(ROOT, 'plugins', 'module_utils')



PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
HEADER = re.compile(r'^# storedesk-script: ([a-z0-9-]+/\d+)\n')


def shipped_scripts():
    """(module, NAME, text) of every upper-case string constant in plugins/module_utils/_ps_*.py."""
    found = []
    for path in sorted(glob.glob(os.path.join(MODULE_UTILS, '_ps_*.py'))):
        name = os.path.splitext(os.path.basename(path))[0]
        module = importlib.import_module('ansible_collections.storedesk.vdi.plugins.module_utils.' + name)
        for attr, value in sorted(vars(module).items()):
            if attr.lstrip('_').isupper() and isinstance(value, str):
                found.append((name, attr, value))
    return found


SCRIPTS = shipped_scripts()
PUBLIC = [(m, n, t) for m, n, t in SCRIPTS if not n.startswith('_')]


def test_scripts_are_discovered():
    names = [n for _, n, _ in SCRIPTS]
    assert 'PROBE' in names and 'STDIN_LOADER' in names


@pytest.mark.parametrize('module,name,text', SCRIPTS, ids=['{0}.{1}'.format(m, n) for m, n, _ in SCRIPTS])
def test_parses_without_error(module, name, text):
    root = PARSER.parse(text.encode('utf-8')).root_node
    assert not root.has_error, '{0}.{1} does not parse'.format(module, name)
    assert text.isascii(), 'keep shipped PowerShell ASCII (stdin and code pages)'


@pytest.mark.parametrize('module,name,text', PUBLIC, ids=['{0}.{1}'.format(m, n) for m, n, _ in PUBLIC])
def test_public_script_has_a_header_and_follows_the_contract(module, name, text):
    header = HEADER.match(text)
    assert header, '{0}.{1} must start with "# storedesk-script: name/version"'.format(module, name)
    if header.group(1) != 'stdin-loader/1':
        assert 'Invoke-StoredeskMain' in text and '$StoredeskInput' in text
    assert "'" + '$StoredeskInput' not in text          # never interpolated into a string


def test_header_names_are_unique():
    heads = [HEADER.match(t).group(1) for _, _, t in PUBLIC]
    assert len(heads) == len(set(heads))


def test_the_parser_check_is_not_vacuous():
    assert PARSER.parse(b'function f { if ($a -eq ) { }').root_node.has_error
    multi_line_switch = b'switch ($x) {\n    1 { "one" }\n    2 { "two" }\n}\n'
    assert not PARSER.parse(multi_line_switch).root_node.has_error


@pytest.mark.parametrize('value', ["it's", '"quoted"', '$(Stop-Computer)', '`backtick`', 'a; b', 'line1\r\nline2',
                                   "'; Remove-Item C:\\ -Recurse; '", '@{x=1}', '\u00e9\u4e2d\u2713', ''])
def test_hostile_backend_names_come_back_intact_from_the_fake(value):
    from ansible_collections.storedesk.vdi.plugins.module_utils._ps_scripts import PROBE
    from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import with_input
    from storedesk_lab.windows import WindowsDesktop
    from storedesk_lab.windows.powershell import run_script

    desktop = WindowsDesktop(vmid=1, computer_name='D1', network={'pos.example': 9})
    payload = {'backends': [{'name': value, 'host': 'pos.example', 'port': 443}]}
    execution = run_script(desktop, with_input(PROBE, payload))
    doc = json.loads(execution.stdout.decode('utf-8'))
    assert execution.rc == 0 and doc['ok']
    assert doc['result']['backends'][0]['name'] == value
    assert desktop.scripts_run == [('probe/1', payload)]
