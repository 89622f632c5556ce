# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerShell of desktop_drive (private): a network drive for every user profile (see _ps_user_hives)."""

from __future__ import annotations

from ._ps_scripts import _script
from ._ps_sources import _SOURCES
from ._ps_user_hives import _HIVES

WIN_USER_DRIVE = _script('win-user-drive/1', r'''
# A network drive for every user of this desktop: HKU\<SID>\Network\<letter> in every profile and in
# the Default User hive (Windows reconnects it at each logon with the user's own credentials), and
# whether a marker file (a version stamp) is visible at the UNC path from here.
# Input: {"check": bool, "letter": "M", "unc": "\\server\share", "state": "present"|"absent",
#         "marker": name or null, "credential": {"user", "password"} (to read the marker)}
# Result: {"items": [...], "marker": {"path", "visible", "content", "error"}}
''' + _HIVES + _SOURCES + r'''
function Set-StoredeskDrive {
    param($Hive, $Request, $Item, [bool]$Check)
    $action = {
        param($Root, $Source)
        $key = $Root + '\Network\' + $Request.letter
        $now = Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue
        if ($Request.state -eq 'absent') {
            if ($null -eq $now) {
                return $false
            }
            if (-not $Check) {
                Remove-Item -LiteralPath $key -Recurse -Force
            }
            return $true
        }
        if ($null -ne $now -and [string]$now.RemotePath -eq $Request.unc -and [int]$now.ConnectionType -eq 1) {
            return $false
        }
        if (-not $Check) {
            $null = New-Item -Path $key -Force
            Set-ItemProperty -LiteralPath $key -Name 'RemotePath' -Value ([string]$Request.unc) -Type String
            Set-ItemProperty -LiteralPath $key -Name 'UserName' -Value '' -Type String
            Set-ItemProperty -LiteralPath $key -Name 'ProviderName' -Value 'Microsoft Windows Network' -Type String
            Set-ItemProperty -LiteralPath $key -Name 'ProviderType' -Value 131072 -Type DWord
            Set-ItemProperty -LiteralPath $key -Name 'ConnectionType' -Value 1 -Type DWord
            Set-ItemProperty -LiteralPath $key -Name 'DeferFlags' -Value 4 -Type DWord
        }
        return $true
    }
    $outcome = Invoke-StoredeskInHive -Hive $Hive -Action $action -Check $Check
    Set-StoredeskHiveOutcome -Item $Item -Outcome $outcome -Action ($Request.state + ' ' + $Request.letter + ': ' + $Request.unc)
}

function Invoke-StoredeskMain {
    param($Request)
    $check = [bool]$Request.check
    $items = @()
    if (-not $check) {
        Set-StoredeskStep 'stale-mounts'
        Clear-StoredeskStaleMounts
    }
    foreach ($hive in Get-StoredeskUserHives) {
        $item = New-StoredeskItem 'drive' ($hive.user + ' (' + $hive.sid + ')')
        Set-StoredeskStep ('drive:' + $hive.sid)
        if ($hive.stale) {
            $item.status = 'skipped'
            $item.error = 'stale profile: ' + $hive.stale
            $items += $item
            continue
        }
        try {
            Set-StoredeskDrive -Hive $hive -Request $Request -Item $item -Check $check
        }
        catch {
            Set-StoredeskFailed -Item $item -ErrorRecord $_
        }
        $items += $item
    }
    $marker = $null
    if ($Request.marker -and $Request.state -ne 'absent') {
        Set-StoredeskStep 'marker'
        $path = Join-Path ([string]$Request.unc) ([string]$Request.marker)
        $marker = @{ path = $path; visible = $false; content = $null; error = $null }
        $share = $null
        try {
            # Read through explicit credentials: the WinRM session itself holds none for the file server.
            $share = Connect-StoredeskShare -Unc $path -Credential $Request.credential
            if (Test-Path -LiteralPath $share.path -PathType Leaf) {
                $marker.visible = $true
                $marker.content = ([string](Get-Content -LiteralPath $share.path -TotalCount 1)).Trim()
            }
            else {
                $marker.error = 'not found with the account ' + $Request.credential.user
            }
        }
        catch {
            $marker.error = [string]$_.Exception.Message
        }
        finally {
            Disconnect-StoredeskShare -Share $share
        }
    }
    $changed = (-not $check) -and (@($items | Where-Object { $_.status -eq 'changed' }).Count -gt 0)
    return @{ changed = $changed; result = @{ items = $items; marker = $marker } }
}
''')
