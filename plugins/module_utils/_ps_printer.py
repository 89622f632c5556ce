# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerShell of desktop_printer (private): drivers, ports, queues and the staff default printer (see _ps_user_hives)."""

from __future__ import annotations

from ._ps_scripts import _script
from ._ps_sources import _SOURCES
from ._ps_user_hives import _HIVES

WIN_PRINTER = _script('win-printer/1', r'''
# Printers of this desktop as a whole desired state: drivers, TCP/IP ports, queues, removals,
# the default printer of every user profile (and the Default User hive), test pages.
# Input: {"check": bool,
#         "drivers": [{"name", "inf", "package" (http(s) zip, UNC folder read with "credential", or a local
#                      zip/folder the controller pushed)}], "credential": {"user", "password"} or null,
#         "ports": [{"name", "host", "protocol": "raw"|"lpr", "port": int, "queue"}],
#         "printers": [{"name", "driver", "port", "shared", "share_name", "comment", "location"}],
#         "absent": [name], "exclusive": bool, "builtin": [name],
#         "default_printer": name or null, "test_page": [name]}
# Result: {"items": [{"kind", "name", "status": ok|changed|failed|skipped, "actions", "error"}]}
''' + _HIVES + _SOURCES + r'''
function Install-StoredeskDriver {
    # Stage the package's INF in the driver store (pnputil), then install the printer driver from it.
    param($Driver, $Item, [bool]$Check, $Credential)
    if ($null -ne (Get-PrinterDriver -Name $Driver.name -ErrorAction SilentlyContinue)) {
        return
    }
    $Item.status = 'changed'
    $Item.actions += ('stage ' + $Driver.inf + ' from ' + $Driver.package + ' and install ' + $Driver.name)
    if ($Check) {
        return
    }
    $folder = Join-Path $env:TEMP ('storedesk-driver-' + [guid]::NewGuid().ToString('N'))
    try {
        $local = Get-StoredeskSource -Source ([string]$Driver.package) -Folder $folder -Credential $Credential -Expand
        # pnputil: 0 added; 3010 added, reboot wanted; 259 added, no present device matched (a printer INF
        # staged before its printer) - MicrosoftDocs/windows-driver-docs, pnputil-return-values.md
        $inf = Join-Path $local ([string]$Driver.inf)
        $null = Invoke-StoredeskNative -FilePath 'pnputil.exe' -ArgumentList @('/add-driver', $inf, '/install') -Allowed @(0, 259, 3010)
        Add-PrinterDriver -Name $Driver.name
    }
    finally {
        Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction SilentlyContinue
    }
}

function Install-StoredeskPort {
    param($Port, $Item, [bool]$Check)
    if ($null -ne (Get-PrinterPort -Name $Port.name -ErrorAction SilentlyContinue)) {
        return
    }
    $Item.status = 'changed'
    $Item.actions += ('add port ' + $Port.name + ' -> ' + $Port.host)
    if ($Check) {
        return
    }
    if ($Port.protocol -eq 'lpr') {
        Add-PrinterPort -Name $Port.name -LprHostAddress $Port.host -LprQueueName $Port.queue -LprByteCounting
    }
    else {
        Add-PrinterPort -Name $Port.name -PrinterHostAddress $Port.host -PortNumber ([int]$Port.port)
    }
}

function Install-StoredeskPrinter {
    param($Printer, $Item, [bool]$Check)
    $current = Get-Printer -Name $Printer.name -ErrorAction SilentlyContinue
    if ($null -eq $current) {
        $Item.status = 'changed'
        $Item.actions += ('add printer ' + $Printer.name)
        if (-not $Check) {
            $add = @{ Name = $Printer.name; DriverName = $Printer.driver; PortName = $Printer.port }
            if ($Printer.shared) {
                $add.Shared = $true
                $add.ShareName = $Printer.share_name
            }
            if ($null -ne $Printer.comment) {
                $add.Comment = $Printer.comment
            }
            if ($null -ne $Printer.location) {
                $add.Location = $Printer.location
            }
            Add-Printer @add
        }
        return
    }
    $set = @{}
    if ($current.DriverName -ne $Printer.driver) {
        $set.DriverName = $Printer.driver
    }
    if ($current.PortName -ne $Printer.port) {
        $set.PortName = $Printer.port
    }
    if ([bool]$current.Shared -ne [bool]$Printer.shared) {
        $set.Shared = [bool]$Printer.shared
        if ($Printer.shared) {
            $set.ShareName = $Printer.share_name
        }
    }
    if ($null -ne $Printer.comment -and [string]$current.Comment -ne $Printer.comment) {
        $set.Comment = $Printer.comment
    }
    if ($null -ne $Printer.location -and [string]$current.Location -ne $Printer.location) {
        $set.Location = $Printer.location
    }
    if ($set.Count -gt 0) {
        $Item.status = 'changed'
        $Item.actions += ('set ' + (($set.Keys | Sort-Object) -join ', ') + ' of printer ' + $Printer.name)
        if (-not $Check) {
            Set-Printer -Name $Printer.name @set
        }
    }
}

function Set-StoredeskDefaultPrinter {
    # Device = "<printer>,winspool,Ne00:" (Windows fixes the Ne port itself) and
    # LegacyDefaultPrinterMode = 1 (Windows must not switch to the last used printer) in one user hive.
    param($Hive, [string]$Name, $Item, [bool]$Check)
    $device = $Name + ',winspool,Ne00:'
    $action = {
        param($Root, $Source)
        $key = $Root + '\Software\Microsoft\Windows NT\CurrentVersion\Windows'
        $now = Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue
        $same = ($null -ne $now -and ([string]$now.Device -split ',')[0] -eq $Name -and [int]$now.LegacyDefaultPrinterMode -eq 1)
        if ($same) {
            return $false
        }
        if (-not $Check) {
            if (-not (Test-Path -LiteralPath $key)) {
                $null = New-Item -Path $key -Force
            }
            Set-ItemProperty -LiteralPath $key -Name 'Device' -Value $device -Type String
            Set-ItemProperty -LiteralPath $key -Name 'LegacyDefaultPrinterMode' -Value 1 -Type DWord
        }
        return $true
    }
    $outcome = Invoke-StoredeskInHive -Hive $Hive -Action $action -Check $Check
    Set-StoredeskHiveOutcome -Item $Item -Outcome $outcome -Action ('default printer ' + $Name)
}

function Invoke-StoredeskItem {
    # One item in its own try: a failure is recorded on the item, the other items go on.
    param($Item, [scriptblock]$Work)
    Set-StoredeskStep ($Item.kind + ':' + $Item.name)
    try {
        & $Work $Item
    }
    catch {
        Set-StoredeskFailed -Item $Item -ErrorRecord $_
    }
    return $Item
}

function Invoke-StoredeskMain {
    param($Request)
    $check = [bool]$Request.check
    $items = @()
    $failedDrivers = @{}
    $failedPorts = @{}
    foreach ($driver in @($Request.drivers)) {
        $item = Invoke-StoredeskItem (New-StoredeskItem 'driver' $driver.name) {
            param($it) Install-StoredeskDriver -Driver $driver -Item $it -Check $check -Credential $Request.credential
        }
        if ($item.status -eq 'failed') {
            $failedDrivers[$driver.name] = $true
        }
        $items += $item
    }
    foreach ($port in @($Request.ports)) {
        $item = Invoke-StoredeskItem (New-StoredeskItem 'port' $port.name) { param($it) Install-StoredeskPort -Port $port -Item $it -Check $check }
        if ($item.status -eq 'failed') {
            $failedPorts[$port.name] = $true
        }
        $items += $item
    }
    $ready = @{}
    foreach ($printer in @($Request.printers)) {
        $item = New-StoredeskItem 'printer' $printer.name
        if ($failedDrivers.ContainsKey($printer.driver) -or $failedPorts.ContainsKey($printer.port)) {
            $item.status = 'skipped'
            $item.error = 'not configured: its driver or port failed above'
        }
        else {
            $item = Invoke-StoredeskItem $item { param($it) Install-StoredeskPrinter -Printer $printer -Item $it -Check $check }
        }
        if ($item.status -ne 'failed' -and $item.status -ne 'skipped') {
            $ready[$printer.name] = $true
        }
        $items += $item
    }
    $keep = @{}
    foreach ($name in @($Request.builtin) + @($Request.printers | ForEach-Object { $_.name })) {
        $keep[[string]$name] = $true
    }
    $remove = @($Request.absent)
    if ($Request.exclusive) {
        $remove += @(Get-Printer | Where-Object { -not $keep.ContainsKey($_.Name) } | ForEach-Object { $_.Name })
    }
    foreach ($name in ($remove | Sort-Object -Unique)) {
        if ($null -eq (Get-Printer -Name $name -ErrorAction SilentlyContinue)) {
            continue
        }
        $item = New-StoredeskItem 'removal' $name
        $item.status = 'changed'
        $item.actions += ('remove printer ' + $name)
        $items += Invoke-StoredeskItem $item {
            param($it)
            if (-not $check) {
                Remove-Printer -Name $name
            }
        }
    }
    if ($Request.default_printer) {
        if (-not $check) {
            Set-StoredeskStep 'stale-mounts'
            Clear-StoredeskStaleMounts
        }
        $name = [string]$Request.default_printer
        foreach ($hive in Get-StoredeskUserHives) {
            $item = New-StoredeskItem 'default' ($hive.user + ' (' + $hive.sid + ')')
            if (-not $ready.ContainsKey($name)) {
                $item.status = 'skipped'
                $item.error = 'printer ' + $name + ' is not configured on this desktop'
            }
            elseif ($hive.stale) {
                $item.status = 'skipped'
                $item.error = 'stale profile: ' + $hive.stale
            }
            else {
                $item = Invoke-StoredeskItem $item { param($it) Set-StoredeskDefaultPrinter -Hive $hive -Name $name -Item $it -Check $check }
            }
            $items += $item
        }
    }
    foreach ($name in @($Request.test_page)) {
        $item = New-StoredeskItem 'test_page' $name
        if ($check -or -not $ready.ContainsKey([string]$name)) {
            $item.status = 'skipped'
            $item.error = 'check mode, or printer not configured'
        }
        else {
            $item = Invoke-StoredeskItem $item {
                param($it)
                $printer = Get-CimInstance -ClassName Win32_Printer | Where-Object { $_.Name -eq $name }
                $answer = Invoke-CimMethod -InputObject $printer -MethodName PrintTestPage
                if ($answer.ReturnValue -ne 0) {
                    throw ('PrintTestPage returned ' + $answer.ReturnValue)
                }
                $it.actions += 'test page sent'
            }
        }
        $items += $item
    }
    $changed = (-not $check) -and (@($items | Where-Object { $_.status -eq 'changed' }).Count -gt 0)
    return @{ changed = $changed; result = @{ items = $items } }
}
''')
