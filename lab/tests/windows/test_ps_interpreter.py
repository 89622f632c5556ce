"""The interpreter's PowerShell semantics, each as Windows PowerShell 5.1's about_* pages describe it
(MicrosoftDocs/PowerShell-Docs reference/5.1/Microsoft.PowerShell.Core/About/)."""

from __future__ import annotations

import pytest

from storedesk_lab.windows import WindowsDesktop
from storedesk_lab.windows.powershell import run_script

CASES = [
    # about_Scopes: a function sees its caller's variables; its assignments stay local
    ('$a = 1\nfunction f {\n    $a = $a + 1\n    $a\n}\nf\n$a', ['2', '1']),
    # about_Hash_Tables: keys are case-insensitive; a hashtable is passed by reference
    ('$h = @{ Name = 1 }\nfunction g {\n    param($t)\n    $t.name = 5\n}\ng $h\n$h.NAME', ['5']),
    # about_Splatting
    ("function s {\n    param($X, $Y)\n    $X + '-' + $Y\n}\n$p = @{ Y = 'b'; X = 'a' }\ns @p", ['a-b']),
    # about_Return: every statement's output is the function's output
    ("function r {\n    'one'\n    return 'two'\n    'three'\n}\n(r) -join ','", ['one,two']),
    # about_Comparison_Operators: case-insensitive; a collection on the left filters; -match sets $Matches
    ("'ABC' -eq 'abc'\n(@(1, 2, 3, 2) -eq 2).Count\nif ('USB\\VID_0A5F&PID_0001' -match 'VID_([0-9A-F]{4})') {\n"
     "    $Matches[1]\n}", ['True', '2', '0A5F']),
    # about_Try_Catch_Finally: $_ is the error record; finally always runs
    ("try {\n    throw 'boom'\n}\ncatch {\n    $_.Exception.Message\n}\nfinally {\n    'done'\n}", ['boom', 'done']),
    # about_Preference_Variables: -ErrorAction SilentlyContinue hides a non-terminating error
    ("$x = Get-Printer -Name 'nope' -ErrorAction SilentlyContinue\n$null -eq $x", ['True']),
    # about_Quoting_Rules: expansion in double quotes only, backtick escapes
    ("$n = 'w'\n\"a $n `$n $($n.ToUpper())\"\n'a $n'", ['a w $n W', 'a $n']),
    # about_Switch
    ("switch ('b') {\n    'a' {\n        1\n    }\n    'B' {\n        2\n    }\n    default {\n        3\n    }\n}", ['2']),
    # about_Arithmetic_Operators: the left operand decides
    ("'1' + 2\n1 + '2'\n@(1) + 2 -join ','", ['12', '3', '1,2']),
    # about_Automatic_Variables: $LASTEXITCODE of a native command
    ("$o = & reg.exe unload 'HKU\\Nothing' 2>&1\n$LASTEXITCODE", ['1']),
]


@pytest.mark.parametrize('script,expected', CASES)
def test_semantics(script, expected):
    execution = run_script(WindowsDesktop(vmid=1, computer_name='D1'), script)
    assert execution.rc == 0, execution.stderr
    assert execution.stdout.decode('utf-8').splitlines() == expected


def test_an_unmodelled_construct_is_an_error_not_a_no_op():
    execution = run_script(WindowsDesktop(vmid=1, computer_name='D1'), "$x = [Math]::Sqrt(4)\n'after'")
    assert execution.rc == 1 and b"does not contain a method named 'Sqrt'" in execution.stderr
    assert execution.stdout == b''
