# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerShell shared by the store-device scripts (private): the user hives of a desktop, and the item pattern.

Each script carries the whole desired state of one desktop in its JSON input and works item by item:
every item (driver, port, printer, profile) ends as ok / changed / failed / skipped with Windows' own
message, so a desktop is never left half-configured without saying which half. With "check": true the
script computes the same plan and changes nothing.

Per-user settings reach store staff, not the WinRM account: they are written into every user profile's
hive (HKU\\<SID>, mounting unloaded NTUSER.DAT files with reg load) and into the Default User hive, which
Windows copies into every profile created later.
"""

from __future__ import annotations

# Loading and unloading hives, shared by every script that mounts one (device scripts, image scripts).
# A mount name is unique per script run (Storedesk_<PID>_<random>): two scripts never share one, and a run
# stopped by a time-out leaves a name the next run recognises as stale (its PID is gone) and unloads first.
# reg.exe load/unload exit 0 on success and 1 on failure (MicrosoftDocs/windowsserverdocs,
# WindowsServerDocs/administration/windows-commands/reg-load.md, reg-unload.md); an unload fails while a handle
# to the hive is open, hence [GC]::Collect() and retries.
_HIVE_MOUNT = r'''
function Get-StoredeskMountName {
    return ('Storedesk_' + $PID + '_' + [guid]::NewGuid().ToString('N').Substring(0, 8))
}

function Dismount-StoredeskHive {
    param([string]$Name)
    $last = $null
    for ($try = 1; $try -le 5; $try++) {
        [GC]::Collect()
        [GC]::WaitForPendingFinalizers()
        try {
            $null = Invoke-StoredeskNative -FilePath 'reg.exe' -ArgumentList @('unload', ('HKU\' + $Name))
            return
        }
        catch {
            $last = $_.Exception.Message
        }
        Start-Sleep -Milliseconds (250 * $try)
    }
    throw ('the hive mounted at HKU\' + $Name + ' could not be unloaded after 5 tries (a handle is still open): ' + $last)
}

function Clear-StoredeskStaleMounts {
    # Hives of ours a stopped run left loaded (and the fixed names of older versions): unloaded before we mount.
    foreach ($key in Get-ChildItem -LiteralPath 'Registry::HKEY_USERS') {
        $name = $key.PSChildName
        if ($name -match '^Storedesk_(\d+)_[0-9a-f]{8}$') {
            $owner = [int]$Matches[1]
            if ($owner -eq $PID -or $null -ne (Get-Process -Id $owner -ErrorAction SilentlyContinue)) {
                continue
            }
        }
        elseif ($name -notmatch '^Storedesk(Devices|Probe|Default)$') {
            continue
        }
        Dismount-StoredeskHive -Name $name
    }
}

function Mount-StoredeskHive {
    # reg load of one NTUSER.DAT under a fresh name; returns the name (unload it with Dismount-StoredeskHive).
    param([string]$File)
    $name = Get-StoredeskMountName
    $null = Invoke-StoredeskNative -FilePath 'reg.exe' -ArgumentList @('load', ('HKU\' + $name), $File)
    return $name
}
'''

# Shared by win-printer/1 and win-user-drive/1: the user hives of this desktop, mounted one at a time.
_HIVES = _HIVE_MOUNT + r'''
function Get-StoredeskUserHives {
    # Local, domain and Entra ID user profiles, then the Default User hive (what new profiles start from).
    # A profile we must not touch carries `stale` (why it is skipped): no NTUSER.DAT, a backup of a broken
    # profile (<SID>.bak), a temporary profile (C:\Users\TEMP...), or an Entra ID profile (SID S-1-12-1-...,
    # whose settings come from Intune, not from this desktop).
    $list = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList'
    $hives = @()
    foreach ($key in Get-ChildItem -LiteralPath $list) {
        $sid = $key.PSChildName
        if ($sid -notmatch '^S-1-(5-21|12-1)-') {
            continue
        }
        $path = [Environment]::ExpandEnvironmentVariables([string]$key.GetValue('ProfileImagePath'))
        $hive = @{ sid = $sid; user = (Split-Path -Leaf $path); file = (Join-Path $path 'NTUSER.DAT'); stale = $null }
        if ($sid -match '^S-1-12-1-') {
            $hive.stale = 'Entra ID profile (managed through Intune)'
        }
        elseif ($sid.EndsWith('.bak')) {
            $hive.stale = 'backup of a broken profile (' + $sid + ')'
        }
        elseif ($hive.user -match '^TEMP($|\.)') {
            $hive.stale = 'temporary profile ' + $path
        }
        elseif (-not (Test-Path -LiteralPath $hive.file)) {
            $hive.stale = 'no NTUSER.DAT in ' + $path
        }
        $hives += $hive
    }
    $default = [Environment]::ExpandEnvironmentVariables([string](Get-ItemProperty -LiteralPath $list).Default)
    $hives += @{ sid = 'DEFAULT'; user = 'Default'; file = (Join-Path $default 'NTUSER.DAT'); stale = $null }
    return $hives
}

function Invoke-StoredeskInHive {
    # Runs $Action with the registry root of the hive: HKU\<SID> when the user is logged on, else a hive we mount
    # for this call only. In check mode nothing is mounted: $null (not read) for a hive that is not loaded.
    param($Hive, [scriptblock]$Action, [bool]$Check)
    $loaded = 'Registry::HKEY_USERS\' + $Hive.sid
    if ($Hive.sid -ne 'DEFAULT' -and (Test-Path -LiteralPath $loaded)) {
        return (& $Action $loaded 'loaded')
    }
    if ($Check) {
        return $null
    }
    $mount = Mount-StoredeskHive -File $Hive.file
    try {
        return (& $Action ('Registry::HKEY_USERS\' + $mount) 'hive')
    }
    finally {
        Dismount-StoredeskHive -Name $mount
    }
}

function New-StoredeskItem {
    param([string]$Kind, [string]$Name)
    return @{ kind = $Kind; name = $Name; status = 'ok'; actions = @(); error = $null }
}

function Set-StoredeskFailed {
    param($Item, $ErrorRecord)
    $Item.status = 'failed'
    $Item.error = [string]$ErrorRecord.Exception.Message
}

function Set-StoredeskHiveOutcome {
    # What Invoke-StoredeskInHive answered, on the item: $true changed, $false as wanted, $null not read.
    param($Item, $Outcome, [string]$Action)
    if ($null -eq $Outcome) {
        $Item.status = 'skipped'
        $Item.error = 'check mode: this profile is not logged on and its hive is not mounted in check mode'
    }
    elseif ($Outcome) {
        $Item.status = 'changed'
        $Item.actions += $Action
    }
}
'''
