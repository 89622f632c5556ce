"""The mutation check: every shipped script's outcome on the fake desktops depends on its statements.

For every shipped script (plugins/module_utils/_ps_*.py), each state-changing statement removed and each cmdlet
named parameter renamed is a mutant; it must change the outcome (exit code, JSON document, desktop state) on one
of the script's scenarios (win_scenarios.py). Mutants inside functions a script pastes in but never calls are not
counted (listed as dead). Deliberate exceptions below, each with its reason; an exception no mutant needs fails.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import win_scenarios  # noqa: E402
from storedesk_lab.windows import mutation  # noqa: E402

SESSION_DRIVE = ('New-PSDrive without -Persist lives as long as the WinRM session (MicrosoftDocs/PowerShell-Docs '
                 'reference/5.1/Microsoft.PowerShell.Management/New-PSDrive.md): removing it before the session ends '
                 'is hygiene that neither Windows nor a test can observe')
ONE_FILE = ('branch of the shared Get-StoredeskSource this script never takes: its sources are single files, '
            'never a folder, and it does not ask for -Expand (only driver packages are folders or zips)')
EXCEPTIONS = {
    '*': {'Remove-PSDrive -Name $Share.name': SESSION_DRIVE, 'Disconnect-StoredeskShare -Share $share': SESSION_DRIVE},
    'IMAGE_SOFTWARE': {"Copy-Item -Path (Join-Path $share.path '*')": ONE_FILE,
                       'Expand-Archive -LiteralPath $local': ONE_FILE},
    'IMAGE_FILES': {"Copy-Item -Path (Join-Path $share.path '*')": ONE_FILE,
                    'Expand-Archive -LiteralPath $local': ONE_FILE},
}
SCRIPTS = win_scenarios.scripts()
RESULTS = {}


def exception_for(name, mutant):
    for scope in (name, '*'):
        for snippet, reason in EXCEPTIONS.get(scope, {}).items():
            if snippet in mutant.line:
                return snippet, reason
    return None


@pytest.mark.parametrize('name', sorted(SCRIPTS))
def test_every_mutant_of_the_script_changes_its_outcome(name, capsys):
    text, scenarios = SCRIPTS[name]
    found, survivors, dead = mutation.check(text, scenarios)
    excused = [m for m in survivors if exception_for(name, m)]
    missed = [m for m in survivors if not exception_for(name, m)]
    killed = len(found) - len(survivors)
    RESULTS[name] = (len(found), killed, len(excused), len(dead))
    with capsys.disabled():
        print('\nmutation check {0:<15} {1:>4} mutants, {2:>4} killed ({3:.0f}%), {4} excused, {5} in uncalled '
              'functions'.format(name, len(found), killed, 100.0 * killed / max(1, len(found)), len(excused),
                                 len(dead)))
    assert found, 'no mutants: the check would be vacuous'
    assert not missed, '\n'.join('{0} survived: {1}'.format(m.kind, m.label) for m in missed)


def test_every_listed_exception_is_needed():
    used = set()
    for name, (text, scenarios) in SCRIPTS.items():
        for mutant in mutation.mutants(text):
            hit = exception_for(name, mutant)
            if hit:
                used.add((name if hit[0] in EXCEPTIONS.get(name, {}) else '*', hit[0]))
    listed = set((scope, snippet) for scope, entries in EXCEPTIONS.items() for snippet in entries)
    assert listed <= used, 'exceptions no mutant needs: {0}'.format(sorted(listed - used))


def test_a_statement_that_changes_nothing_survives():
    """The check is not vacuous: removing a statement without effect is reported as a survivor."""
    text = ("$null = New-Item -ItemType Directory -Force -Path 'C:\\Windows\\Temp'\n"
            "[IO.File]::WriteAllText('C:\\Windows\\Temp\\a.txt', 'x')\n")
    scenario = {'desktop': lambda: (win_scenarios.desktop(), win_scenarios.ctx()), 'steps': [{}]}
    found, survivors, _ = mutation.check(text, [scenario])
    assert [m.label for m in found if m.kind == 'remove'] == [
        "line 1: remove `$null = New-Item -ItemType Directory -Force -Path 'C:\\Windows\\Temp'`",
        "line 2: remove `[IO.File]::WriteAllText('C:\\Windows\\Temp\\a.txt', 'x')`"]
    assert [m.label for m in survivors] == ["line 1: remove `$null = New-Item -ItemType Directory -Force -Path "
                                            "'C:\\Windows\\Temp'`"]


def test_every_shipped_script_has_scenarios():
    """A script added to plugins/module_utils/_ps_*.py without scenarios here would escape the check."""
    import glob
    import importlib
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    shipped = set()
    for path in glob.glob(os.path.join(root, 'plugins', 'module_utils', '_ps_*.py')):
        module = importlib.import_module('ansible_collections.storedesk.vdi.plugins.module_utils.' +
                                         os.path.splitext(os.path.basename(path))[0])
        shipped.update(k for k, v in vars(module).items() if k.isupper() and not k.startswith('_') and
                       isinstance(v, str) and v.startswith('# storedesk-script:'))
    assert shipped == set(SCRIPTS)
