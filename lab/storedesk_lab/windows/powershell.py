"""cmd.exe and powershell.exe as far as the fake desktop runs them.

A command line goes through cmd.exe (8,191-character limit), then powershell.exe's own parameters.
The script is parsed with tree-sitter-powershell (a syntax error fails as PowerShell's ParserError
does) and its statements run in psinterp.py against the desktop model (cmdlets.py, pshost.py):
what a script changes on the fake desktop is what its statements do, nothing is picked by name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import traceback
from dataclasses import dataclass

from .contracts import Context
from .pshost import Host
from .psinterp import Interpreter
from .psvalues import ErrorRecord, PSRuntimeError

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
    script: str = ''            # the script waiting for stdin
    seconds: float = 0.0        # Windows time the work took (scaled by the lab's time_scale)
    after: object = None        # called once the answer has been read (what the command started runs on)


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
        return Execution(needs_stdin=True,
                         script='$input | Out-String | ForEach-Object { & ([ScriptBlock]::Create($_)) }')
    if 'file' in params:
        return Execution(stderr='The argument \'{0}\' to the -File parameter does not exist. Provide the path to an '
                                'existing \'.ps1\' file as an argument to the -File parameter.\r\n'
                                .format(params['file']).encode(), rc=-196608)
    return Execution(stderr=b'storedesk fake desktop: interactive PowerShell is not modelled\r\n', rc=1)


_PARSED = {}
_PARSER = None


def _parser():
    global _PARSER
    if _PARSER is None:
        import tree_sitter
        import tree_sitter_powershell
        _PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return _PARSER


class Node(object):
    """A plain copy of a tree-sitter node (type, children, byte span): the interpreter walks these, which is
    many times faster than tree-sitter's node objects."""
    __slots__ = ('type', 'children', 'start_byte', 'end_byte', 'id', 'text', 'kids', 'collapsed', 'cached')
    _ids = [0]

    def __init__(self, ts=None):
        Node._ids[0] += 1
        self.id, self.text = Node._ids[0], None      # text: set on a mutant's renamed token
        self.kids = self.collapsed = self.cached = None   # the interpreter's caches (psinterp.Interpreter)
        if ts is not None:
            self.type, self.start_byte, self.end_byte = ts.type, ts.start_byte, ts.end_byte
            self.children = [Node(c) for c in ts.children]

    def copy(self, children=None, text=None):
        twin = Node()
        twin.type, twin.start_byte, twin.end_byte = self.type, self.start_byte, self.end_byte
        twin.children = list(self.children if children is None else children)
        twin.text = self.text if text is None else text
        return twin


def parse(text):
    """The root of a script as Nodes; PSRuntimeError on a syntax error (as PowerShell's ParserError)."""
    data = text.encode('utf-8')
    key = hashlib.sha256(data).hexdigest()
    if key not in _PARSED:
        root = _parser().parse(data).root_node
        if root.has_error:
            _PARSED[key] = _first_error(root) or 'At line:1 char:1\r\nThe script contains a syntax error.'
        else:
            _PARSED[key] = Node(root)
        if len(_PARSED) > 256:
            _PARSED.pop(next(iter(_PARSED)))
    found = _PARSED[key]
    if isinstance(found, str):
        raise PSRuntimeError(ErrorRecord(found, 'ParserError', error_id='ParseException'))
    return found


def syntax_error(text):
    """PowerShell's parser verdict (via tree-sitter-powershell), or None."""
    try:
        parse(text)
    except PSRuntimeError as err:
        return err.record.exception.message
    return None


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


INPUT_LINE = re.compile(r"^\$StoredeskInput = '([A-Za-z0-9+/=]*)'\r?\n")


def run_script(desktop, text, ctx=None, stdin=None, hook=None, tree=None):
    """Execute script text on the desktop model statement by statement (psinterp), as powershell.exe would.

    A script that reads $input waits for stdin (the runner's loader); its output comes once stdin ends.
    hook(interp) may set interp.statement_hook (tests). The result keeps Windows' streams: stdout bytes,
    stderr as CLIXML, the exit code, plus `seconds` of Windows time the work took.
    """
    ctx = ctx or Context()
    if stdin is None and re.search(r'\$input\b', text, re.I) and _reads_input(text):
        return Execution(needs_stdin=True, script=text)
    # The runner's first line, $StoredeskInput = '<base64>', is a plain assignment: set it and parse the script
    # without it, so a script's tree is parsed once whatever its input (and a mutant's tree can stand in: tree).
    preset = INPUT_LINE.match(text)
    body = text[preset.end():] if preset else text
    try:
        root = tree if tree is not None else parse(body)
    except PSRuntimeError as err:
        return Execution(stderr=clixml(err.record.exception.message), rc=1)
    if desktop.faults.take('hang'):
        return Execution(hang=True)
    header = HEADER.search(stdin or text)
    request = _recorded_input(stdin or text)
    if header is not None and header.group(1) != LOADER:
        desktop.scripts_run.append((header.group(1), request))
    if desktop.faults.garbage_output is not None:
        return Execution(stdout=desktop.faults.garbage_output.encode('utf-8'))
    host = Host(desktop, ctx, request)
    interp = Interpreter(host, body.encode('utf-8'))
    host.interp, host.scope = interp, interp.globals
    if preset:
        interp.globals.vars['storedeskinput'] = preset.group(1)
    if stdin is not None:
        interp.globals.vars['input'] = [stdin]
    if hook is not None:
        hook(interp)
    try:
        rc = interp.run(root)
    except PSRuntimeError as err:
        host.stderr.append(err.record.exception.message)
        rc = 1
    except RecursionError:
        host.stderr.append('The script failed due to call depth overflow.')
        rc = 1
    except Exception:  # a bug in the fake: show it the way a script crash would show
        return Execution(stderr=clixml('storedesk fake desktop: the interpreter crashed:\n' + traceback.format_exc()),
                         rc=1)
    execution = Execution(stdout=bytes(host.stdout), stderr=clixml('\n'.join(host.stderr)) if host.stderr else b'',
                          rc=rc, seconds=host.elapsed)
    if host.on_sysprep is not None:
        # sysprep runs on after the command has answered: the server starts its clock once the answer is read
        execution.after = lambda: _power_off_later(desktop, ctx)
        if not _in_event_loop():
            execution.after()
            execution.after = None
    return execution


def _in_event_loop():
    import asyncio
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _reads_input(text):
    """Does the script use the automatic variable $input (stdin for powershell.exe -Command -)?"""
    try:
        root = parse(text)
    except PSRuntimeError:
        return False
    todo = [root]
    while todo:
        node = todo.pop()
        if node.type == 'variable' and text.encode('utf-8')[node.start_byte:node.end_byte].lower() == b'$input':
            return True
        todo.extend(node.children)
    return False


def _recorded_input(text):
    """The request of $StoredeskInput, for desktop.scripts_run (a record for tests; it decides nothing)."""
    found = INPUT.search(text)
    if found is None:
        return None
    try:
        return json.loads(base64.b64decode(found.group(1), validate=True).decode('utf-8'))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _power_off_later(desktop, ctx):
    """sysprep /shutdown: the image state moves on and the VM powers off SYSPREP_SECS x time_scale later."""
    import asyncio
    from . import pshost
    vm = ctx.vm

    def off():
        desktop.sysprep_state = 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
        if 'sysprep' in desktop.processes:
            desktop.processes.remove('sysprep')
        if vm is not None:
            vm.status = vm.qmpstatus = 'stopped'
    if desktop.faults.take('sysprep_hangs'):
        return
    failure = pshost.sysprep_failure(desktop)
    if failure is not None:      # sysprep stops with its error in setuperr.log; Windows stays up, not generalized
        def off():
            pshost._panther(desktop, 'setuperr.log', failure)
            if 'sysprep' in desktop.processes:
                desktop.processes.remove('sysprep')
    scale = getattr(ctx, 'time_scale', 0) or 0
    delay = max(POWER_OFF_SECS, pshost.SYSPREP_SECS * scale)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:   # outside the lab's event loop (unit tests): at once
        off()
        return
    loop.call_later(delay, off)


POWER_OFF_SECS = 0.2
