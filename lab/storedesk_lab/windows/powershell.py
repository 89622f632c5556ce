"""cmd.exe and powershell.exe as far as the fake desktop runs them.

A command line goes through cmd.exe (8,191-character limit), then powershell.exe's own parameters.
A script is recognised by its ``# storedesk-script: name/version`` header and executed by its
contract (contracts.py) on the desktop model, with the input decoded from ``$StoredeskInput``.
Scripts are parsed first with tree-sitter-powershell (when installed): a syntax error fails as
PowerShell's ParserError does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import traceback
from dataclasses import dataclass

from .contracts import CONTRACTS, Context, PsError

CMD_LIMIT = 8191
HEADER = re.compile(r'^# storedesk-script: (\S+)[ \t]*\r?$', re.M)
INPUT = re.compile(r"^\$StoredeskInput = '([^'\r\n]*)'[ \t]*\r?$", re.M)
LOADER = 'stdin-loader/1'
PS_NAMES = ('powershell', 'powershell.exe', r'c:\windows\system32\windowspowershell\v1.0\powershell.exe')
# powershell.exe parameters: name -> takes a value (unique prefixes are accepted, as PowerShell does)
PS_PARAMS = {'noprofile': False, 'noninteractive': False, 'nologo': False, 'executionpolicy': True,
             'encodedcommand': True, 'command': True, 'file': True, 'inputformat': True, 'outputformat': True,
             'windowstyle': True, 'version': True, 'sta': False, 'mta': False}
PS_ALIASES = {'ec': 'encodedcommand', 'e': 'encodedcommand', 'enc': 'encodedcommand', 'c': 'command',
              'ep': 'executionpolicy', 'ex': 'executionpolicy', 'exec': 'executionpolicy', 'f': 'file',
              'nop': 'noprofile', 'noni': 'noninteractive'}


@dataclass
class Execution:
    stdout: bytes = b''
    stderr: bytes = b''
    rc: int = 0
    needs_stdin: bool = False   # output comes once stdin ends (the stdin loader, -Command -)
    hang: bool = False          # never finishes


def clixml(message):
    text = (message.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            .replace('\r\n', '_x000D__x000A_').replace('\n', '_x000D__x000A_'))
    return ('#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
            '<S S="Error">{0}_x000D__x000A_</S></Objs>'.format(text)).encode('utf-8')


def run_command_line(desktop, command, arguments='', skip_cmd_shell=False, ctx=None):
    """What Windows does with one WinRS Command (through cmd.exe unless skipped)."""
    line = command + (' ' + arguments if arguments else '')
    if not skip_cmd_shell and len(line) > CMD_LIMIT:
        return Execution(stderr=b'The command line is too long.\r\n', rc=1)
    tokens = line.split()
    if not tokens or tokens[0].strip('"').lower() not in PS_NAMES:
        name = tokens[0] if tokens else ''
        return Execution(stderr="'{0}' is not recognized as an internal or external command,\r\noperable program or "
                                "batch file.\r\n".format(name).encode('utf-8'), rc=1)
    params, i = {}, 1
    while i < len(tokens):
        raw = tokens[i]
        key = raw.lstrip('-/').lower()
        key = PS_ALIASES.get(key) or next((p for p in PS_PARAMS if p.startswith(key)), None) if key else None
        if not raw.startswith(('-', '/')) or key is None:
            return Execution(stderr=clixml("The term '{0}' is not recognized as the name of a cmdlet, function, "
                                           "script file, or operable program.".format(raw)), rc=1)
        if PS_PARAMS[key]:
            if i + 1 >= len(tokens):
                return Execution(stderr='Missing parameter value for -{0}.\r\n'.format(key).encode(), rc=-196608)
            params[key] = tokens[i + 1]
            i += 2
        else:
            params[key] = True
            i += 1
    if 'encodedcommand' in params:
        try:
            script = base64.b64decode(params['encodedcommand'], validate=True).decode('utf-16-le')
        except (binascii.Error, UnicodeDecodeError):
            return Execution(stderr=b'Cannot process the command because the value specified with -EncodedCommand '
                                    b'is not properly encoded. The value must be Base64 encoded.\r\n', rc=-196608)
        return run_script(desktop, script, ctx)
    if params.get('command') == '-':
        return Execution(needs_stdin=True)
    if 'file' in params:
        return Execution(stderr='The argument \'{0}\' to the -File parameter does not exist. Provide the path to an '
                                'existing \'.ps1\' file as an argument to the -File parameter.\r\n'
                                .format(params['file']).encode(), rc=-196608)
    return Execution(stderr=b'storedesk fake desktop: interactive PowerShell is not modelled\r\n', rc=1)


_PARSED = {}


def syntax_error(text):
    """PowerShell's parser verdict (via tree-sitter-powershell; None when fine or not installed)."""
    key = hashlib.sha256(text.encode('utf-8')).hexdigest()
    if key not in _PARSED:
        try:
            import tree_sitter
            import tree_sitter_powershell
        except ImportError:
            return None
        parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
        root = parser.parse(text.encode('utf-8')).root_node
        _PARSED[key] = (_first_error(root) or 'At line:1 char:1\r\nThe script contains a syntax error.') \
            if root.has_error else None
    return _PARSED[key]


def _first_error(node):
    if node.type == 'ERROR' or node.is_missing:
        row, col = node.start_point
        return 'At line:{0} char:{1}\r\nUnexpected token or missing closing element.'.format(row + 1, col + 1)
    for child in node.children:
        if child.has_error:
            found = _first_error(child)
            if found:
                return found
    return None


def run_script(desktop, text, ctx=None):
    """Execute script text on the desktop model: its contract, or what PowerShell would say."""
    ctx = ctx or Context()
    header = HEADER.search(text)
    if header is None:
        return Execution(stderr=clixml('storedesk fake desktop: no "# storedesk-script:" header, script not '
                                       'modelled'), rc=1)
    error = syntax_error(INPUT.sub('', text))
    if error:
        return Execution(stderr=clixml(error), rc=1)
    name = header.group(1)
    if name == LOADER:
        return Execution(needs_stdin=True)
    fn = CONTRACTS.get(name)
    if fn is None:
        return Execution(stderr=clixml('storedesk fake desktop: no model for script {0}'.format(name)), rc=1)
    if desktop.faults.take('hang'):
        return Execution(hang=True)
    if desktop.faults.garbage_output is not None:
        return Execution(stdout=desktop.faults.garbage_output.encode('utf-8'))
    try:
        request = _decode_input(text)
        desktop.scripts_run.append((name, request))
        outcome = fn(desktop, request, ctx)
        doc = {'ok': True, 'changed': bool(outcome.get('changed')), 'result': outcome.get('result')}
        rc = 0
    except PsError as exc:
        doc = {'ok': False, 'changed': False,
               'error': {'message': exc.message, 'category': exc.category, 'step': exc.step or 'input'}}
        rc = 1
    except Exception:  # a bug in the fake: show it the way a script crash would show
        return Execution(stderr=clixml('storedesk fake desktop: contract {0} crashed:\n{1}'.format(
            name, traceback.format_exc())), rc=1)
    return Execution(stdout=json.dumps(doc, ensure_ascii=False, separators=(',', ':')).encode('utf-8'), rc=rc)


def _decode_input(text):
    """[Convert]::FromBase64String($StoredeskInput) | ConvertFrom-Json, with Windows' errors."""
    found = INPUT.search(text)
    if found is None:
        raise PsError('Exception calling "FromBase64String" with "1" argument(s): "Value cannot be null.\r\n'
                      'Parameter name: s"', 'NotSpecified', 'input')
    try:
        data = base64.b64decode(found.group(1), validate=True).decode('utf-8')
    except (binascii.Error, UnicodeDecodeError):
        raise PsError('Exception calling "FromBase64String" with "1" argument(s): "The input is not a valid Base-64 '
                      'string as it contains a non-base 64 character, more than two padding characters, or an illegal '
                      'character among the padding characters. "', 'NotSpecified', 'input')
    try:
        return json.loads(data)
    except ValueError:
        raise PsError('Invalid JSON primitive: {0}.'.format(data[:40]), 'NotSpecified', 'input')
