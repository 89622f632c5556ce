"""Every cmdlet, named parameter and native command option the shipped PowerShell uses is in cmdlets.yml, the table
taken from Microsoft's reference for Windows PowerShell 5.1 on Windows 11 (each row names its source file); the
fake desktops refuse what the table does not have, as Windows does.
"""

from __future__ import annotations

import glob
import importlib
import os
import re

import pytest
import tree_sitter
import tree_sitter_powershell
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
with open(os.path.join(HERE, 'cmdlets.yml')) as fh:
    TABLE = yaml.safe_load(fh)
CMDLETS = dict((row['name'].lower(), row) for row in TABLE['cmdlets'])
NATIVES = dict((row['name'].lower(), row) for row in TABLE['natives'])
COMMON = {'verbose', 'debug', 'erroraction', 'warningaction', 'informationaction', 'errorvariable', 'warningvariable',
          'informationvariable', 'outvariable', 'outbuffer', 'pipelinevariable', 'ea', 'ev', 'wa', 'vb', 'ov', 'ob',
          'db', 'infa', 'iv', 'wv', 'pv'}


def shipped():
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'plugins', 'module_utils', '_ps_*.py'))):
        name = os.path.splitext(os.path.basename(path))[0]
        module = importlib.import_module('ansible_collections.storedesk.vdi.plugins.module_utils.' + name)
        for attr, value in sorted(vars(module).items()):
            if attr.isupper() and not attr.startswith('_') and isinstance(value, str):
                found.append(('{0}.{1}'.format(name, attr), value))
    return found


SCRIPTS = shipped()


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def names(row):
    found = set()
    for p in row['parameters']:
        found.add(p['name'].lower())
        found.update(a.lower() for a in p.get('aliases') or [])
    return found


def uses(text):
    """(cmdlet uses [(name, [parameters], [splatted variables])], native names, functions the script defines)."""
    data = text.encode('utf-8')
    root = PARSER.parse(data).root_node
    functions = set(data[n.start_byte:n.end_byte].decode().lower() for n in walk(root) if n.type == 'function_name')
    calls, natives = [], set()
    for node in walk(root):
        if node.type != 'command':
            continue
        name_node = next(c for c in node.children if c.type in ('command_name', 'command_name_expr'))
        if name_node.type == 'command_name_expr' and name_node.children[0].type != 'command_name':
            continue                                        # & $scriptblock
        name = data[name_node.start_byte:name_node.end_byte].decode()
        elements = next((c for c in node.children if c.type == 'command_elements'), None)
        params, splats = [], []
        for child in (elements.children if elements is not None else []):
            text_ = data[child.start_byte:child.end_byte].decode()
            if child.type == 'command_parameter':
                params.append(text_.lstrip('-').rstrip(':'))
            elif text_.startswith('@') and re.match(r'^@\w+$', text_):
                splats.append(text_[1:])
            elif re.match(r"^'[\w.]+\.exe'$", text_):
                natives.add(text_.strip("'").lower())
        if name.lower().endswith('.exe'):
            natives.add(name.lower())
        elif name.lower() not in functions:
            calls.append((name, params, splats))
    return calls, natives, functions


def splat_keys(text, variable):
    keys = set()
    for body in re.findall(r'\$' + variable + r'\s*=\s*@\{([^}]*)\}', text, re.I):
        keys.update(re.findall(r'(\w+)\s*=', body))
    keys.update(re.findall(r'\$' + variable + r'\.(\w+)\s*=', text, re.I))
    return keys


@pytest.mark.parametrize('name,text', SCRIPTS, ids=[n for n, _ in SCRIPTS])
def test_every_cmdlet_and_parameter_is_in_the_reference(name, text):
    calls, natives, _ = uses(text)
    problems = []
    for cmdlet, params, splats in calls:
        row = CMDLETS.get(cmdlet.lower())
        if row is None:
            problems.append('{0}: no such cmdlet in the reference'.format(cmdlet))
            continue
        known = names(row) | COMMON
        for p in params:
            if p.lower() not in known:
                problems.append('{0} -{1}: no such parameter ({2})'.format(cmdlet, p, row['source']['path']))
        for variable in splats:
            for key in splat_keys(text, variable):
                if key.lower() not in known:
                    problems.append('{0} @{1}: key {2} is no parameter'.format(cmdlet, variable, key))
    for native in natives:
        if native not in NATIVES:
            problems.append('{0}: native command not in the reference'.format(native))
    options = set(o for row in NATIVES.values() for o in row['options'])
    for option in re.findall(r"'(/[a-z*-]+)'", text):
        if option not in options:
            problems.append('native option {0} not in the reference'.format(option))
    assert not problems, problems


def test_the_walk_finds_what_the_scripts_use():
    calls, natives, functions = uses(dict(SCRIPTS)['_ps_printer.WIN_PRINTER'])
    used = dict((c.lower(), p) for c, p, _ in calls)
    assert 'add-printerport' in used and 'PrinterHostAddress' in used['add-printerport']
    assert 'pnputil.exe' in natives and 'install-storedeskdriver' in functions
    assert ('Add-Printer', [], ['add']) in calls and 'DriverName' in splat_keys(dict(SCRIPTS)['_ps_printer.WIN_PRINTER'],
                                                                                  'add')


def test_every_row_names_its_source():
    for row in TABLE['cmdlets']:
        assert row['source']['repo'].startswith('MicrosoftDocs/') and row['source']['path'].endswith(row['name'] + '.md')
        assert re.match(r'^[0-9a-f]{40}$', row['source']['commit'])
        assert row['parameters'], row['name']
    for row in TABLE['natives']:
        assert row['sources'] and all(s['repo'].startswith('MicrosoftDocs/') for s in row['sources'])


def test_the_model_knows_only_documented_cmdlets_and_parameters():
    from storedesk_lab.windows import cmdlets
    for key, spec in cmdlets.CMDLETS.items():
        assert key in CMDLETS, '{0} is modelled but not in the reference'.format(spec.name)
        undocumented = [p for p in spec.implemented if p.lower() not in names(CMDLETS[key])]
        assert not undocumented, '{0}: {1}'.format(spec.name, undocumented)


@pytest.mark.parametrize('script,message', [
    ('Get-Printerz', "The term 'Get-Printerz' is not recognized as the name of a cmdlet"),
    ("Get-Printer -Nmae 'x'", "A parameter cannot be found that matches parameter name 'Nmae'."),
    ("$p = @{ Nmae = 'x' }\nGet-Printer @p", "A parameter cannot be found that matches parameter name 'Nmae'."),
    ("Get-Printer -Name 'x' -ErrorAction SilentlyContinue 'y'", 'A positional parameter cannot be found'),
    ('Invoke-Expression 1', "The term 'Invoke-Expression' is not recognized"),
])
def test_the_model_refuses_what_windows_refuses(script, message):
    from storedesk_lab.windows import WindowsDesktop
    from storedesk_lab.windows.powershell import run_script
    execution = run_script(WindowsDesktop(vmid=1, computer_name='D1'), "$ErrorActionPreference = 'Stop'\n" + script)
    assert execution.rc == 1 and message in execution.stderr.decode('utf-8').replace('_x000D__x000A_', '\n')
