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

# Functions several image scripts share (pasted into each: every script travels alone).
_HIVE = r'''
function Get-StoredeskDefaultHive {
    # Path of the Default User hive (NTUSER.DAT every new profile starts from).
    $list = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList'
    return (Join-Path ([Environment]::ExpandEnvironmentVariables([string]$list.Default)) 'NTUSER.DAT')
}

function Mount-StoredeskDefaultHive {
    $ErrorActionPreference = 'Continue'
    $null = & reg.exe load 'HKU\StoredeskDefault' (Get-StoredeskDefaultHive) 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw ('reg load of the Default User hive failed with exit code ' + $LASTEXITCODE)
    }
    return 'Registry::HKEY_USERS\StoredeskDefault'
}

function Dismount-StoredeskDefaultHive {
    $ErrorActionPreference = 'Continue'
    [GC]::Collect()
    [GC]::WaitForPendingFinalizers()
    $null = & reg.exe unload 'HKU\StoredeskDefault' 2>&1
}
'''

IMAGE_READY = _script('image-ready/1', r'''
# Is the build VM ready for its manifest? Reads facts, changes nothing.
# Input: {}. Result: computer_name, os, image_state, reboot_pending.

function Invoke-StoredeskMain {
    param($Request)
    Set-StoredeskStep 'os'
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $state = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -ErrorAction SilentlyContinue
    $imageState = $null
    if ($null -ne $state) {
        $imageState = [string]$state.ImageState
    }
    $pending = Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
    return @{
        changed = $false
        result = @{
            computer_name = $env:COMPUTERNAME
            os = @{ caption = $os.Caption; version = $os.Version; build = [string]$os.BuildNumber }
            image_state = $imageState
            reboot_pending = [bool]$pending
        }
    }
}
''')

IMAGE_SOFTWARE = _script('image-software/1', r'''
# Installs one package silently unless Windows lists it already (same DisplayName, and version if given).
# Input: {"name", "version", "source", "kind": "msi"|"exe", "args": [str], "success_codes": [int]}
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

function Copy-StoredeskSource {
    # The installer on local disk: copied from a share, downloaded, or used where it is.
    param([string]$Source, [string]$Folder)
    $null = New-Item -ItemType Directory -Force -Path $Folder
    if ($Source -match '^https?://') {
        $local = Join-Path $Folder ([IO.Path]::GetFileName(([Uri]$Source).AbsolutePath))
        Invoke-WebRequest -Uri $Source -OutFile $local -UseBasicParsing
        return $local
    }
    if (-not (Test-Path -LiteralPath $Source)) {
        throw ("Cannot find path '" + $Source + "' because it does not exist.")
    }
    if ($Source.StartsWith('\\')) {
        $local = Join-Path $Folder (Split-Path -Leaf $Source)
        Copy-Item -LiteralPath $Source -Destination $local -Force
        return $local
    }
    return $Source
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
    $local = Copy-StoredeskSource -Source ([string]$Request.source) -Folder $folder
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

IMAGE_DRIVER = _script('image-driver/1', r'''
# Stages one driver package in the driver store: copy the package folder, pnputil /add-driver /install.
# Input: {"name", "source" (package folder), "inf" (INF file inside the package)}
# Result: name, inf, published_name (oemNN.inf), reboot_required.

function Invoke-StoredeskMain {
    param($Request)
    Set-StoredeskStep 'copy'
    $source = [string]$Request.source
    if (-not (Test-Path -LiteralPath $source)) {
        throw ("Cannot find path '" + $source + "' because it does not exist.")
    }
    $folder = Join-Path $env:SystemRoot ('Temp\storedesk-image\drivers\' + (([string]$Request.name) -replace '[^A-Za-z0-9.-]', '_'))
    $null = New-Item -ItemType Directory -Force -Path $folder
    Copy-Item -Path (Join-Path $source '*') -Destination $folder -Recurse -Force
    Set-StoredeskStep 'pnputil'
    $inf = Join-Path $folder ([string]$Request.inf)
    $ErrorActionPreference = 'Continue'
    $output = (& pnputil.exe /add-driver $inf /install 2>&1 | Out-String).Trim()
    $code = $LASTEXITCODE
    $ErrorActionPreference = 'Stop'
    if ($code -ne 0 -and $code -ne 3010) {
        throw ('pnputil /add-driver ' + $Request.inf + ' failed with exit code ' + $code + ': ' + $output)
    }
    $published = $null
    if ($output -match 'Published Name:\s*(oem\d+\.inf)') {
        $published = $Matches[1]
    }
    return @{ changed = $true; result = @{ name = $Request.name; inf = $Request.inf; published_name = $published; reboot_required = ($code -eq 3010) } }
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
    $root = $null
    try {
        foreach ($setting in $Request.settings) {
            $path = [string]$setting.path
            Set-StoredeskStep ($path + '\' + $setting.name)
            if ($path.StartsWith('HKDU:\')) {
                if ($null -eq $root) {
                    $root = Mount-StoredeskDefaultHive
                }
                $path = $root + '\' + $path.Substring(6)
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
        if ($null -ne $root) {
            Dismount-StoredeskDefaultHive
        }
    }
    return @{ changed = $changed; result = @{ settings = $done } }
}
''')

IMAGE_FILES = _script('image-files/1', r'''
# Puts files on the image: text content (UTF-8, no BOM) or a copy from a share / URL.
# Input: {"files": [{"dest", "content", "source"}]}. Result: files (dest, bytes).

function Invoke-StoredeskMain {
    param($Request)
    $done = @()
    foreach ($file in $Request.files) {
        $dest = [string]$file.dest
        Set-StoredeskStep $dest
        $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $dest)
        if ($file.source) {
            $source = [string]$file.source
            if ($source -match '^https?://') {
                Invoke-WebRequest -Uri $source -OutFile $dest -UseBasicParsing
            }
            else {
                Copy-Item -LiteralPath $source -Destination $dest -Force
            }
        }
        else {
            [IO.File]::WriteAllText($dest, [string]$file.content, (New-Object Text.UTF8Encoding $false))
        }
        $done += @{ dest = $dest; bytes = (Get-Item -LiteralPath $dest).Length }
    }
    return @{ changed = ($done.Count -gt 0); result = @{ files = $done } }
}
''')

IMAGE_LIBRARY = _script('image-library/1', _HIVE + r'''
# Maps the material library for every new user: a persistent drive in the Default User hive.
# Input: {"drive": "M:", "unc": "\\server\share", "label": str|null}. Result: drive, unc, changed.

function Invoke-StoredeskMain {
    param($Request)
    Set-StoredeskStep 'hive'
    $root = Mount-StoredeskDefaultHive
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
            $mount = $root + '\Software\Microsoft\Windows\CurrentVersion\Explorer\MountPoints2\' + (([string]$Request.unc) -replace '\\', '#')
            $null = New-Item -Path $mount -Force
            $null = New-ItemProperty -LiteralPath $mount -Name '_LabelFromReg' -PropertyType String -Value ([string]$Request.label) -Force
        }
    }
    finally {
        Dismount-StoredeskDefaultHive
    }
    return @{ changed = $changed; result = @{ drive = $Request.drive; unc = $Request.unc } }
}
''')

IMAGE_SYSPREP = _script('image-sysprep/1', r'''
# Starts sysprep /generalize /oobe /shutdown /quiet and returns at once: the VM powers itself off.
# Started through WMI (Win32_Process.Create), not as a child of this WinRM shell, whose job object
# would end it when the shell closes.
# Input: {"mode_vm": bool, "unattend": str|null}. Result: process_id, command_line.

function Invoke-StoredeskMain {
    param($Request)
    Set-StoredeskStep 'check'
    $sysprep = Join-Path $env:SystemRoot 'System32\Sysprep\sysprep.exe'
    if (-not (Test-Path -LiteralPath $sysprep)) {
        throw ("Cannot find path '" + $sysprep + "' because it does not exist.")
    }
    if ($null -ne (Get-Process -Name 'sysprep' -ErrorAction SilentlyContinue)) {
        throw 'sysprep.exe is already running on this VM'
    }
    $line = '"' + $sysprep + '" /generalize /oobe /shutdown /quiet'
    if ($Request.mode_vm) {
        $line += ' /mode:vm'
    }
    if ($Request.unattend) {
        if (-not (Test-Path -LiteralPath ([string]$Request.unattend))) {
            throw ("Cannot find path '" + $Request.unattend + "' because it does not exist.")
        }
        $line += ' "/unattend:' + $Request.unattend + '"'
    }
    Set-StoredeskStep 'start'
    $started = Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{ CommandLine = $line }
    if ($started.ReturnValue -ne 0) {
        throw ('Win32_Process.Create of sysprep failed with return value ' + $started.ReturnValue)
    }
    return @{ changed = $true; result = @{ process_id = [int]$started.ProcessId; command_line = $line } }
}
''')

STEP_SCRIPTS = {'software': IMAGE_SOFTWARE, 'driver': IMAGE_DRIVER, 'registry': IMAGE_REGISTRY,
                'files': IMAGE_FILES, 'library': IMAGE_LIBRARY}
