# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How files reach a desktop without a second hop (private): PowerShell shared by the scripts that fetch files.

A WinRM session authenticated with NTLM (or Kerberos without delegation) holds no credentials for a file
server, so a plain read of \\\\server\\share inside it fails with access denied (MicrosoftDocs/PowerShell-Docs,
reference/docs-conceptual/security/remoting/PS-remoting-second-hop.md "Making the second hop in PowerShell
Remoting"; about_Remote_Troubleshooting.md: an IP address means NTLM, Kerberos does not support IP addresses).
The three ways we use instead:

- push: the controller sends the file over WinRM in chunks (FILE_PUSH below) and checks its SHA-256;
- http(s): Invoke-WebRequest -UseBasicParsing from a source the desktop may read without credentials;
- share: explicit credentials for that one connection - New-PSDrive -Credential with a UNC -Root (supported for
  FileSystem drives since PowerShell 3.0, New-PSDrive.md), removed with Remove-PSDrive afterwards. The password
  travels only inside the script's input, never on a command line.
"""

from __future__ import annotations

from ._ps_scripts import _script

# Get-StoredeskSource: a source (http(s) URL, UNC path with $Credential, or local path) as a local file or folder.
_SOURCES = r'''
function Connect-StoredeskShare {
    # A PSDrive with the given credentials on \\server\share; returns @{ name; path } where path is the source
    # seen through it. $Credential: @{ user; password } from the input.
    param([string]$Unc, $Credential)
    if ($null -eq $Credential -or -not $Credential.user) {
        throw ('no credentials for ' + $Unc + ': inside a WinRM session a share is read with explicit credentials (second hop); ' +
            'give share_user/share_password, an http(s) URL, or a controller path to push')
    }
    if ($Unc -notmatch '^(\\\\[^\\]+\\[^\\]+)(.*)$') {
        throw ($Unc + ' is not a UNC path')
    }
    $root = $Matches[1]
    $rest = $Matches[2]
    $secret = ConvertTo-SecureString -String ([string]$Credential.password) -AsPlainText -Force
    $account = New-Object System.Management.Automation.PSCredential ([string]$Credential.user, $secret)
    $name = 'StoredeskShare' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $null = New-PSDrive -Name $name -PSProvider FileSystem -Root $root -Credential $account -Scope Script
    return @{ name = $name; path = ($name + ':' + $rest) }
}

function Disconnect-StoredeskShare {
    param($Share)
    if ($null -ne $Share) {
        Remove-PSDrive -Name $Share.name -Scope Script -Force -ErrorAction SilentlyContinue
    }
}

function Get-StoredeskSource {
    # Copies $Source (a file, or a folder's content) into $Folder and returns the local copy's path.
    # URLs are downloaded (a .zip is expanded when -Expand); UNC paths are read through a PSDrive with $Credential;
    # local paths (already on this machine, e.g. pushed by the controller) are used where they are.
    param([string]$Source, [string]$Folder, $Credential, [switch]$Expand)
    $null = New-Item -ItemType Directory -Force -Path $Folder
    if ($Source -match '^https?://') {
        $local = Join-Path $Folder ([IO.Path]::GetFileName(([Uri]$Source).AbsolutePath))
        Invoke-WebRequest -Uri $Source -OutFile $local -UseBasicParsing
    }
    elseif ($Source.StartsWith('\\')) {
        $share = Connect-StoredeskShare -Unc $Source -Credential $Credential
        try {
            if (-not (Test-Path -LiteralPath $share.path)) {
                throw ("Cannot find path '" + $Source + "' because it does not exist.")
            }
            if (Test-Path -LiteralPath $share.path -PathType Container) {
                Copy-Item -Path (Join-Path $share.path '*') -Destination $Folder -Recurse -Force
                return $Folder
            }
            $local = Join-Path $Folder (Split-Path -Leaf $Source)
            Copy-Item -LiteralPath $share.path -Destination $local -Force
        }
        finally {
            Disconnect-StoredeskShare -Share $share
        }
    }
    else {
        if (-not (Test-Path -LiteralPath $Source)) {
            throw ("Cannot find path '" + $Source + "' because it does not exist.")
        }
        $local = $Source
    }
    if ($Expand -and $local -match '\.zip$') {
        $into = Join-Path $Folder 'package'
        Expand-Archive -LiteralPath $local -DestinationPath $into -Force
        return $into
    }
    return $local
}
'''

FILE_PUSH = _script('file-push/1', r'''
# One chunk of a file the controller pushes over WinRM (no share, no second hop). Chunks come in order; a chunk
# sent again (a retry) rewrites the same bytes. The last one checks the whole file's SHA-256 and removes a bad copy.
# Input: {"path", "offset": int, "data": base64, "last": bool, "sha256": hex}. Result: path, bytes, sha256.

function Invoke-StoredeskMain {
    param($Request)
    Set-StoredeskStep 'write'
    $path = [string]$Request.path
    $offset = [long]$Request.offset
    $bytes = [Convert]::FromBase64String([string]$Request.data)
    if ($offset -eq 0) {
        $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $path)
        $mode = [IO.FileMode]::Create
    }
    else {
        $mode = [IO.FileMode]::Open
    }
    $stream = New-Object IO.FileStream ($path, $mode, [IO.FileAccess]::Write)
    try {
        if ($stream.Length -lt $offset) {
            throw ('push of ' + $path + ': the file holds ' + $stream.Length + ' bytes, this chunk starts at ' + $offset)
        }
        $stream.SetLength($offset)
        $stream.Position = $offset
        $stream.Write($bytes, 0, $bytes.Length)
    }
    finally {
        $stream.Dispose()
    }
    $done = @{ path = $path; bytes = ($offset + $bytes.Length); sha256 = $null }
    if ($Request.last) {
        Set-StoredeskStep 'verify'
        $hash = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLower()
        if ($hash -ne [string]$Request.sha256) {
            Remove-Item -LiteralPath $path -Force
            throw ('SHA-256 of ' + $path + ' is ' + $hash + ' but the controller sent ' + $Request.sha256 + '; the copy was removed')
        }
        $done.sha256 = $hash
    }
    return @{ changed = $true; result = $done }
}
''')
