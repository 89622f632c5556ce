# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The golden image's manifest steps as PowerShell (private): one script per step kind.

Same contract as every shipped script (see _ps_scripts): input only through $StoredeskInput (JSON),
one JSON document out, `Set-StoredeskStep` names the sub-step an error happened in. The lab models
each one in lab/storedesk_lab/windows/contracts_image.py.
"""

from __future__ import annotations

from ._ps_scripts import _script
from ._ps_sources import _SOURCES
from ._ps_user_hives import _HIVE_MOUNT

# The Default User hive, mounted with the shared helpers of _ps_user_hives (unique name, stale mounts of ours
# unloaded first, unload checked and retried).
_HIVE = _HIVE_MOUNT + r'''
function Get-StoredeskDefaultHive {
    # Path of the Default User hive (NTUSER.DAT every new profile starts from).
    $list = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList'
    return (Join-Path ([Environment]::ExpandEnvironmentVariables([string]$list.Default)) 'NTUSER.DAT')
}
'''

IMAGE_SOFTWARE = _script('image-software/1', _SOURCES + r'''
# Installs one package silently unless Windows lists it already (same DisplayName, and version if given).
# Input: {"name", "version", "source" (http(s) URL, UNC path read with "credential", or a local path the
#         controller pushed), "kind": "msi"|"exe", "args": [str], "success_codes": [int], "credential"}
# Result: name, version, action (installed|present), exit_code, reboot_required, listed.

function Get-StoredeskInstalled {
    param([string]$Name)
    $keys = @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
        'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*')
    foreach ($entry in Get-ItemProperty -Path $keys -ErrorAction SilentlyContinue) {
        if ($entry.DisplayName -eq $Name) {
            return $entry
        }
    }
    return $null
}

function Invoke-StoredeskMain {
    param($Request)
    Set-StoredeskStep 'check'
    $present = Get-StoredeskInstalled -Name $Request.name
    if ($null -ne $present -and (-not $Request.version -or [string]$present.DisplayVersion -eq $Request.version)) {
        $found = @{ name = $Request.name; version = [string]$present.DisplayVersion; action = 'present'
            exit_code = $null; reboot_required = $false; listed = $true }
        return @{ changed = $false; result = $found }
    }
    Set-StoredeskStep 'copy'
    $folder = Join-Path $env:SystemRoot 'Temp\storedesk-image'
    $local = Get-StoredeskSource -Source ([string]$Request.source) -Folder $folder -Credential $Request.credential
    Set-StoredeskStep 'install'
    $log = Join-Path $folder ((([string]$Request.name) -replace '[^A-Za-z0-9.-]', '_') + '.log')
    $arguments = @($Request.args | ForEach-Object { [string]$_ })
    $file = $local
    if ($Request.kind -eq 'msi') {
        $arguments = @('/i', ('"' + $local + '"')) + $arguments + @('/l*v', ('"' + $log + '"'))
        $file = 'msiexec.exe'
    }
    if ($arguments.Count -gt 0) {
        $process = Start-Process -FilePath $file -ArgumentList $arguments -Wait -PassThru
    }
    else {
        $process = Start-Process -FilePath $file -Wait -PassThru
    }
    $code = [int]$process.ExitCode
    if (@($Request.success_codes) -notcontains $code) {
        $text = (New-Object ComponentModel.Win32Exception $code).Message
        throw ('installer of ' + $Request.name + ' exited with code ' + $code + ' (' + $text + '); log: ' + $log)
    }
    Set-StoredeskStep 'verify'
    $installed = Get-StoredeskInstalled -Name $Request.name
    $version = $null
    if ($null -ne $installed) {
        $version = [string]$installed.DisplayVersion
    }
    $done = @{ name = $Request.name; version = $version; action = 'installed'; exit_code = $code
        reboot_required = ($code -eq 3010); listed = ($null -ne $installed) }
    return @{ changed = $true; result = $done }
}
''')

IMAGE_DRIVER = _script('image-driver/1', _SOURCES + r'''
# Stages one driver package in the driver store: the package as a local folder, pnputil /add-driver /install.
# pnputil exit codes (MicrosoftDocs/windows-driver-docs, windows-driver-docs-pr/devtest/pnputil-return-values.md):
# 0 success, 3010 success with a reboot needed, 259 (ERROR_NO_MORE_ITEMS) the package was added but no present
# device matched it - normal for printer and scanner drivers staged on a build VM.
# Input: {"name", "source" (package folder or zip: UNC read with "credential", http(s), or pushed by the
#         controller), "inf" (INF file inside the package), "credential"}
# Result: name, inf, published_name (oemNN.inf), exit_code, reboot_required, device_matched.

function Invoke-StoredeskMain {
    param($Request)
    Set-StoredeskStep 'copy'
    $folder = Join-Path $env:SystemRoot ('Temp\storedesk-image\drivers\' + (([string]$Request.name) -replace '[^A-Za-z0-9.-]', '_'))
    $local = Get-StoredeskSource -Source ([string]$Request.source) -Folder $folder -Credential $Request.credential -Expand
    Set-StoredeskStep 'pnputil'
    $inf = Join-Path $local ([string]$Request.inf)
    $run = Invoke-StoredeskNative -FilePath 'pnputil.exe' -ArgumentList @('/add-driver', $inf, '/install') -Allowed @(0, 259, 3010)
    $published = $null
    if ($run.output -match 'Published Name:\s*(oem\d+\.inf)') {
        $published = $Matches[1]
    }
    $done = @{ name = $Request.name; inf = $Request.inf; published_name = $published; exit_code = $run.exit_code
        reboot_required = ($run.exit_code -eq 3010); device_matched = ($run.exit_code -ne 259) }
    return @{ changed = $true; result = $done }
}
''')

IMAGE_REGISTRY = _script('image-registry/1', _HIVE + r'''
# Writes registry values: HKLM:\ paths, and HKDU:\ paths in the Default User hive (new profiles).
# Input: {"settings": [{"path", "name", "type", "value"}]}. Result: settings (path, name, changed).

function ConvertTo-StoredeskValue {
    param($Setting)
    switch ([string]$Setting.type) {
        'DWord' {
            return [int]$Setting.value
        }
        'QWord' {
            return [long]$Setting.value
        }
        'MultiString' {
            return [string[]]@($Setting.value)
        }
        'Binary' {
            $hex = [string]$Setting.value
            $bytes = New-Object byte[] ($hex.Length / 2)
            for ($i = 0; $i -lt $bytes.Length; $i++) {
                $bytes[$i] = [Convert]::ToByte($hex.Substring($i * 2, 2), 16)
            }
            return $bytes
        }
        default {
            return [string]$Setting.value
        }
    }
}

function Invoke-StoredeskMain {
    param($Request)
    $done = @()
    $changed = $false
    $mount = $null
    try {
        foreach ($setting in $Request.settings) {
            $path = [string]$setting.path
            Set-StoredeskStep ($path + '\' + $setting.name)
            if ($path.StartsWith('HKDU:\')) {
                if ($null -eq $mount) {
                    Clear-StoredeskStaleMounts
                    $mount = Mount-StoredeskHive -File (Get-StoredeskDefaultHive)
                }
                $path = 'Registry::HKEY_USERS\' + $mount + '\' + $path.Substring(6)
            }
            if (-not (Test-Path -LiteralPath $path)) {
                $null = New-Item -Path $path -Force
            }
            $value = ConvertTo-StoredeskValue -Setting $setting
            $current = Get-ItemProperty -LiteralPath $path -Name $setting.name -ErrorAction SilentlyContinue
            $same = $null -ne $current -and ((@($current.($setting.name)) -join "`n") -eq (@($value) -join "`n"))
            if (-not $same) {
                $null = New-ItemProperty -LiteralPath $path -Name $setting.name -PropertyType $setting.type -Value $value -Force
                $changed = $true
            }
            $done += @{ path = [string]$setting.path; name = $setting.name; changed = (-not $same) }
        }
    }
    finally {
        if ($null -ne $mount) {
            Dismount-StoredeskHive -Name $mount
        }
    }
    return @{ changed = $changed; result = @{ settings = $done } }
}
''')

IMAGE_FILES = _script('image-files/1', _SOURCES + r'''
# Puts files on the image: text content (UTF-8, no BOM) or a copy of a source (http(s) URL, UNC path read with
# "credential", or a local file the controller pushed).
# Input: {"files": [{"dest", "content", "source"}], "credential"}. Result: files (dest, bytes).

function Invoke-StoredeskMain {
    param($Request)
    $done = @()
    $folder = Join-Path $env:SystemRoot ('Temp\storedesk-image\files-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    try {
        foreach ($file in $Request.files) {
            $dest = [string]$file.dest
            Set-StoredeskStep $dest
            $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $dest)
            if ($file.source) {
                $local = Get-StoredeskSource -Source ([string]$file.source) -Folder $folder -Credential $Request.credential
                Copy-Item -LiteralPath $local -Destination $dest -Force
            }
            else {
                [IO.File]::WriteAllText($dest, [string]$file.content, (New-Object Text.UTF8Encoding $false))
            }
            $done += @{ dest = $dest; bytes = (Get-Item -LiteralPath $dest).Length }
        }
    }
    finally {
        Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction SilentlyContinue
    }
    return @{ changed = ($done.Count -gt 0); result = @{ files = $done } }
}
''')

IMAGE_LIBRARY = _script('image-library/1', _HIVE + r'''
# Maps the material library for every new user: a persistent drive in the Default User hive (each user's
# own credentials connect it at logon: nothing here reads the share).
# Input: {"drive": "M:", "unc": "\\server\share", "label": str|null}. Result: drive, unc, changed.

function Invoke-StoredeskMain {
    param($Request)
    Set-StoredeskStep 'hive'
    Clear-StoredeskStaleMounts
    $mount = Mount-StoredeskHive -File (Get-StoredeskDefaultHive)
    $root = 'Registry::HKEY_USERS\' + $mount
    try {
        Set-StoredeskStep 'drive'
        $key = $root + '\Network\' + ([string]$Request.drive).Substring(0, 1).ToUpper()
        $current = Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue
        $changed = $null -eq $current -or [string]$current.RemotePath -ne [string]$Request.unc
        if ($changed) {
            $null = New-Item -Path $key -Force
            $null = New-ItemProperty -LiteralPath $key -Name 'RemotePath' -PropertyType String -Value ([string]$Request.unc) -Force
            $null = New-ItemProperty -LiteralPath $key -Name 'UserName' -PropertyType String -Value '' -Force
            $null = New-ItemProperty -LiteralPath $key -Name 'ProviderName' -PropertyType String -Value 'Microsoft Windows Network' -Force
            $null = New-ItemProperty -LiteralPath $key -Name 'ProviderType' -PropertyType DWord -Value 131072 -Force
            $null = New-ItemProperty -LiteralPath $key -Name 'ConnectionType' -PropertyType DWord -Value 1 -Force
            $null = New-ItemProperty -LiteralPath $key -Name 'DeferFlags' -PropertyType DWord -Value 4 -Force
        }
        if ($Request.label) {
            Set-StoredeskStep 'label'
            $mountPoint = $root + '\Software\Microsoft\Windows\CurrentVersion\Explorer\MountPoints2\' + (([string]$Request.unc) -replace '\\', '#')
            $null = New-Item -Path $mountPoint -Force
            $null = New-ItemProperty -LiteralPath $mountPoint -Name '_LabelFromReg' -PropertyType String -Value ([string]$Request.label) -Force
        }
    }
    finally {
        Dismount-StoredeskHive -Name $mount
    }
    return @{ changed = $changed; result = @{ drive = $Request.drive; unc = $Request.unc } }
}
''')

STEP_SCRIPTS = {'software': IMAGE_SOFTWARE, 'driver': IMAGE_DRIVER, 'registry': IMAGE_REGISTRY,
                'files': IMAGE_FILES, 'library': IMAGE_LIBRARY}
