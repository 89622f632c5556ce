"""Regenerate cmdlets.yml from Microsoft's cmdlet reference (run by hand; the result is committed).

    fetch github:MicrosoftDocs/PowerShell-Docs and github:MicrosoftDocs/windows-powershell-docs, then
    python tests/windows_reference/build_cmdlets.py <PowerShell-Docs git dir> <windows-powershell-docs git dir>

Each row: the cmdlet, its documented parameters (name, aliases, switch) read from the '### -Name' sections
of its reference page for Windows PowerShell 5.1 (PowerShell-Docs reference/5.1/...) or, for the Windows
modules (PrintManagement, PnpDevice), the page in windows-powershell-docs docset/winserver2025-ps/..., which
documents the modules Windows 11 ships; and the source (repository, path, commit).
"""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

CORE = {  # cmdlet -> module folder under reference/5.1/
    'ConvertFrom-Json': 'Microsoft.PowerShell.Utility', 'ConvertTo-Json': 'Microsoft.PowerShell.Utility',
    'Out-String': 'Microsoft.PowerShell.Utility', 'Sort-Object': 'Microsoft.PowerShell.Utility',
    'New-Object': 'Microsoft.PowerShell.Utility', 'Invoke-WebRequest': 'Microsoft.PowerShell.Utility',
    'Get-FileHash': 'Microsoft.PowerShell.Utility', 'Select-Object': 'Microsoft.PowerShell.Utility',
    'Where-Object': 'Microsoft.PowerShell.Core', 'Start-Sleep': 'Microsoft.PowerShell.Utility',
    'Write-Output': 'Microsoft.PowerShell.Utility', 'ForEach-Object': 'Microsoft.PowerShell.Core',
    'Join-Path': 'Microsoft.PowerShell.Management', 'Split-Path': 'Microsoft.PowerShell.Management',
    'Test-Path': 'Microsoft.PowerShell.Management', 'Get-ItemProperty': 'Microsoft.PowerShell.Management',
    'Set-ItemProperty': 'Microsoft.PowerShell.Management', 'New-ItemProperty': 'Microsoft.PowerShell.Management',
    'Remove-ItemProperty': 'Microsoft.PowerShell.Management',
    'New-Item': 'Microsoft.PowerShell.Management', 'Remove-Item': 'Microsoft.PowerShell.Management',
    'Copy-Item': 'Microsoft.PowerShell.Management', 'Get-Item': 'Microsoft.PowerShell.Management',
    'Get-ChildItem': 'Microsoft.PowerShell.Management', 'Get-Content': 'Microsoft.PowerShell.Management',
    'Set-Content': 'Microsoft.PowerShell.Management', 'Add-Content': 'Microsoft.PowerShell.Management',
    'Get-Process': 'Microsoft.PowerShell.Management', 'Start-Process': 'Microsoft.PowerShell.Management',
    'New-PSDrive': 'Microsoft.PowerShell.Management', 'Remove-PSDrive': 'Microsoft.PowerShell.Management',
    'Expand-Archive': 'Microsoft.PowerShell.Archive',
    'ConvertTo-SecureString': 'Microsoft.PowerShell.Security', 'Get-CimInstance': 'CimCmdlets', 'Invoke-CimMethod': 'CimCmdlets',
}
WINDOWS = {
    'Get-Printer': 'PrintManagement', 'Add-Printer': 'PrintManagement', 'Set-Printer': 'PrintManagement',
    'Remove-Printer': 'PrintManagement', 'Get-PrinterDriver': 'PrintManagement',
    'Add-PrinterDriver': 'PrintManagement', 'Get-PrinterPort': 'PrintManagement',
    'Add-PrinterPort': 'PrintManagement', 'Get-PnpDevice': 'PnpDevice', 'Get-AppxPackage': 'Appx',
    'Get-AppxProvisionedPackage': 'Dism', 'Get-BitLockerVolume': 'BitLocker',
}


# Native commands the scripts run, with the options they pass (checked in the scripts' AST like cmdlet parameters).
NATIVES = [
    {'name': 'reg.exe', 'options': ['load', 'unload'],
     'sources': [{'repo': 'MicrosoftDocs/windowsserverdocs',
                  'path': 'WindowsServerDocs/administration/windows-commands/reg-load.md'},
                 {'repo': 'MicrosoftDocs/windowsserverdocs',
                  'path': 'WindowsServerDocs/administration/windows-commands/reg-unload.md'}]},
    {'name': 'pnputil.exe', 'options': ['/add-driver', '/install'],
     'sources': [{'repo': 'MicrosoftDocs/windows-driver-docs',
                  'path': 'windows-driver-docs-pr/devtest/pnputil-command-syntax.md'},
                 {'repo': 'MicrosoftDocs/windows-driver-docs',
                  'path': 'windows-driver-docs-pr/devtest/pnputil-return-values.md'}]},
    {'name': 'msiexec.exe', 'options': ['/i', '/l*v'],
     'sources': [{'repo': 'MicrosoftDocs/windowsserverdocs',
                  'path': 'WindowsServerDocs/administration/windows-commands/msiexec.md'}]},
]


def show(git_dir, path):
    return subprocess.check_output(['git', '-C', git_dir, 'show', 'HEAD:' + path]).decode('utf-8')


def head(git_dir):
    return subprocess.check_output(['git', '-C', git_dir, 'rev-parse', 'HEAD']).decode().strip()


def parameters(text):
    found = []
    for m in re.finditer(r'^### -(\w+)\s*\n(.*?)(?=^### |^## )', text, re.S | re.M):
        name, body = m.group(1), m.group(2)
        meta = re.search(r'```yaml\s*\n(.*?)```', body, re.S)
        kind = aliases = ''
        if meta:
            t = re.search(r'^Type:[ \t]*(.+)$', meta.group(1), re.M)
            a = re.search(r'^Aliases:[ \t]*(.*)$', meta.group(1), re.M)
            kind = t.group(1).strip() if t else ''
            aliases = a.group(1).strip() if a else ''
        row = {'name': name}
        if aliases:
            row['aliases'] = [x.strip() for x in aliases.split(',') if x.strip()]
        if kind.endswith('SwitchParameter'):
            row['switch'] = True
        found.append(row)
    return found


def main(core_dir, windows_dir):
    rows = []
    core_commit, windows_commit = head(core_dir), head(windows_dir)
    for name, module in sorted(CORE.items()):
        path = 'reference/5.1/{0}/{1}.md'.format(module, name)
        rows.append({'name': name, 'parameters': parameters(show(core_dir, path)),
                     'source': {'repo': 'MicrosoftDocs/PowerShell-Docs', 'path': path, 'commit': core_commit}})
    for name, module in sorted(WINDOWS.items()):
        path = 'docset/winserver2025-ps/{0}/{1}.md'.format(module, name)
        rows.append({'name': name, 'parameters': parameters(show(windows_dir, path)),
                     'source': {'repo': 'MicrosoftDocs/windows-powershell-docs', 'path': path,
                                'commit': windows_commit}})
    doc = {'about': 'Cmdlets and named parameters the shipped PowerShell may use, from Microsoft\'s reference for '
                    'Windows PowerShell 5.1 on Windows 11 (generated by build_cmdlets.py; common parameters are '
                    'in about_CommonParameters). The fake desktops refuse anything else.',
           'common_parameters_source': {'repo': 'MicrosoftDocs/PowerShell-Docs',
                                        'path': 'reference/5.1/Microsoft.PowerShell.Core/About/'
                                                'about_CommonParameters.md'},
           'cmdlets': rows, 'natives': NATIVES}
    with open(__file__.replace('build_cmdlets.py', 'cmdlets.yml'), 'w') as fh:
        yaml.safe_dump(doc, fh, sort_keys=False, width=120)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
