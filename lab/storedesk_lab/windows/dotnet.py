""".NET members the shipped scripts touch, as Windows PowerShell 5.1 exposes them.

Members of strings, arrays and hashtables (about_Hash_Tables, about_Arrays, about_Properties in
MicrosoftDocs/PowerShell-Docs reference/5.1/Microsoft.PowerShell.Core/About/), and a short list of static
types ([Convert], [Text.Encoding], [Console], [GC], [Environment], [IO.File], [IO.Path], [Math], [guid],
[Diagnostics.Stopwatch], [ScriptBlock], [Uri]). A member or type not listed here is an error, as a
misspelt member is on Windows ("Method invocation failed because [T] does not contain a method named 'X'").
Method failures read "Exception calling "X" with "N" argument(s): ..." (about_Try_Catch_Finally).
"""

from __future__ import annotations

import base64
import binascii
import os
import uuid

from .psvalues import (ErrorRecord, Getter, PSException, PSHash, PSObj, PSRuntimeError, ScriptBlock, enumerate_value,
                       fail, to_bool, to_int, to_number, to_str)

TYPE_ALIASES = {'system.string': 'string', 'system.int32': 'int', 'int32': 'int', 'system.int64': 'long',
                'int64': 'long', 'system.boolean': 'bool', 'boolean': 'bool', 'system.object': 'object',
                'psobject': 'object', 'system.byte[]': 'byte[]', 'system.string[]': 'string[]'}


def type_name_of(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'System.Boolean'
    if isinstance(value, int):
        return 'System.Int32'
    if isinstance(value, float):
        return 'System.Double'
    if isinstance(value, str):
        return 'System.String'
    if isinstance(value, list):
        return 'System.Object[]'
    if isinstance(value, PSHash):
        return 'System.Collections.Hashtable'
    if isinstance(value, PSObj):
        return value.type_name
    if isinstance(value, (bytes, bytearray)):
        return 'System.Byte[]'
    if isinstance(value, ErrorRecord):
        return 'System.Management.Automation.ErrorRecord'
    return type(value).__name__


def cast(type_name, value):
    t = TYPE_ALIASES.get(type_name.lower(), type_name.lower())
    if t == 'string':
        return None if value is None and False else to_str(value)
    if t == 'int':
        return to_int(value, 32)
    if t == 'long':
        return to_int(value, 64)
    if t == 'bool':
        return to_bool(value)
    if t == 'switch':
        return to_bool(value)
    if t in ('double', 'decimal', 'single'):
        return float(to_number(value))
    if t == 'string[]':
        return [to_str(v) for v in enumerate_value(value)]
    if t == 'int[]':
        return [to_int(v) for v in enumerate_value(value)]
    if t in ('array', 'object[]'):
        return enumerate_value(value)
    if t in ('byte[]',):
        if isinstance(value, (bytes, bytearray)):
            return bytearray(value)
        return bytearray(to_int(v) & 0xFF for v in enumerate_value(value))
    if t in ('object', 'psobject', 'hashtable') and (t != 'hashtable' or isinstance(value, PSHash)):
        return value
    if t == 'scriptblock':
        if value is None or isinstance(value, ScriptBlock):
            return value
        fail('Cannot convert the "{0}" value of type "{1}" to type "System.Management.Automation.ScriptBlock".'
             .format(to_str(value), type_name_of(value)), 'InvalidArgument')
    if t == 'pscustomobject':
        if isinstance(value, PSHash):
            return PSObj(dict(value.items()))
        return value
    if t == 'uri':
        return PSObj({'AbsolutePath': '/' + to_str(value).split('://', 1)[-1].split('/', 1)[-1].split('?')[0],
                      'OriginalString': to_str(value)}, 'System.Uri', text=to_str(value))
    if t == 'void':
        return None
    if t == 'guid':
        return PSObj({}, 'System.Guid', text=to_str(value))
    fail('Unable to find type [{0}].'.format(type_name), 'InvalidOperation', error_id='TypeNotFound')


# ---------------------------------------------------------------- instance members

def get_member(obj, name):
    low = name.lower()
    if obj is None:
        return None
    if isinstance(obj, PSHash):
        if name in obj:
            return obj[name]
        if low in ('count',):
            return len(obj)
        if low == 'keys':
            return obj.keys()
        if low == 'values':
            return [v for _, v in obj.items()]
        return None
    if isinstance(obj, PSObj):
        if obj.has(name):
            return obj.get(name)
        return None
    if isinstance(obj, ErrorRecord):
        if low == 'exception':
            return obj.exception
        if low == 'categoryinfo':
            return PSObj({'Category': obj.category, 'Reason': obj.exception.type_name.rsplit('.', 1)[-1]},
                         'System.Management.Automation.ErrorCategoryInfo', text=obj.category)
        if low == 'fullyqualifiederrorid':
            return obj.error_id
        if low == 'targetobject':
            return obj.target
        return None
    if isinstance(obj, PSException):
        if low == 'message':
            return obj.message
        if low == 'innerexception':
            return obj.inner
        return None
    if isinstance(obj, str):
        if low == 'length':
            return len(obj)
        return None
    if isinstance(obj, (list, tuple, bytearray, bytes)):
        if low in ('count', 'length'):
            return len(obj)
        # member enumeration (about_Member-Access_Enumeration): the member of every item
        values = [get_member(v, name) for v in obj]
        values = [v for v in values if v is not None]
        return values[0] if len(values) == 1 else (values or None)
    if isinstance(obj, bool) or isinstance(obj, (int, float)):
        return None
    return None


def set_member(obj, name, value):
    if isinstance(obj, PSHash):
        obj[name] = value
        return
    if isinstance(obj, PSObj):
        if getattr(obj, 'on_set', None) is not None:
            obj.on_set(name, value)
        if not obj.has(name) and obj.type_name == 'System.Management.Automation.PSCustomObject':
            fail("The property '{0}' cannot be found on this object. Verify that the property exists and can be "
                 "set.".format(name), 'InvalidOperation', error_id='PropertyAssignmentException')
        obj.props[name] = value
        return
    fail("The property '{0}' cannot be found on this object. Verify that the property exists and can be set."
         .format(name), 'InvalidOperation', error_id='PropertyNotFound')


def index(obj, key):
    if obj is None:
        fail('Cannot index into a null array.', 'InvalidOperation', error_id='NullArray')
    if isinstance(obj, PSHash):
        return obj[key]
    if isinstance(obj, PSObj):
        return obj.get(to_str(key))
    if isinstance(obj, (list, tuple, str, bytearray, bytes)):
        i = to_int(key)
        try:
            return obj[i]
        except IndexError:
            return None
    fail('Unable to index into an object of type {0}.'.format(type_name_of(obj)), 'InvalidOperation')


def _method_error(name, args, message, type_name='System.Exception'):
    """A .NET exception in a method call: MethodInvocationException wrapping it (InnerException)."""
    method_error(name, len(args), message, type_name)


def method_error(name, count, message, type_name='System.Exception'):
    raise PSRuntimeError(ErrorRecord('Exception calling "{0}" with "{1}" argument(s): "{2}"'.format(
        name, count, message), 'NotSpecified', 'System.Management.Automation.MethodInvocationException',
        'MethodInvocationException', inner=PSException(message, type_name)))


def _no_method(obj, name):
    fail("Method invocation failed because [{0}] does not contain a method named '{1}'.".format(
        type_name_of(obj), name), 'InvalidOperation', error_id='MethodNotFound')


def call_method(host, obj, name, args):
    low = name.lower()
    if obj is None:
        fail('You cannot call a method on a null-valued expression.', 'InvalidOperation', error_id='InvokeMethodOnNull')
    if isinstance(obj, PSObj) and low in obj.methods:
        return obj.methods[low](*args)
    if isinstance(obj, str):
        if low == 'toupper':
            return obj.upper()
        if low == 'tolower':
            return obj.lower()
        if low == 'trim':
            return obj.strip(to_str(args[0]) if args else None)
        if low == 'trimend':
            return obj.rstrip(to_str(args[0]) if args else None)
        if low == 'trimstart':
            return obj.lstrip(to_str(args[0]) if args else None)
        if low == 'tostring':
            return obj
        if low == 'startswith':
            return obj.startswith(to_str(args[0]))
        if low == 'endswith':
            return obj.endswith(to_str(args[0]))
        if low == 'contains':
            return to_str(args[0]) in obj
        if low == 'replace':
            return obj.replace(to_str(args[0]), to_str(args[1]))
        if low == 'substring':
            start = to_int(args[0])
            length = to_int(args[1]) if len(args) > 1 else len(obj) - start
            if start < 0 or length < 0 or start + length > len(obj):
                _method_error(name, args, 'Index and length must refer to a location within the string.\r\n'
                                          'Parameter name: length', 'System.ArgumentOutOfRangeException')
            return obj[start:start + length]
        if low == 'split':
            return obj.split(to_str(args[0])) if args else obj.split()
        if low == 'indexof':
            return obj.find(to_str(args[0]))
        if low == 'padleft':
            return obj.rjust(to_int(args[0]))
    if isinstance(obj, PSHash):
        if low == 'containskey':
            return args[0] in obj
        if low == 'add':
            if args[0] in obj:
                _method_error(name, args, "Item has already been added. Key in dictionary: '{0}'  Key being added: "
                                          "'{0}'".format(to_str(args[0])))
            obj[args[0]] = args[1]
            return None
        if low == 'remove':
            obj.remove(args[0])
            return None
    if isinstance(obj, (int, float)) and not isinstance(obj, bool) and low == 'tostring':
        return to_str(obj)
    if isinstance(obj, list) and low == 'contains':
        return any(to_str(v).lower() == to_str(args[0]).lower() if isinstance(v, str) else v == args[0] for v in obj)
    if isinstance(obj, PSObj) and low == 'tostring':
        return to_str(obj)
    _no_method(obj, name)


# ---------------------------------------------------------------- static members

def _norm(type_name):
    t = type_name.lower()
    return t[7:] if t.startswith('system.') else t


def static_member(host, type_name, name):
    t, low = _norm(type_name), name.lower()
    if t == 'text.encoding' and low in ('utf8', 'unicode', 'ascii'):
        return PSObj({}, 'System.Text.{0}Encoding'.format({'utf8': 'UTF8', 'unicode': 'Unicode',
                                                          'ascii': 'ASCII'}[low]),
                     methods={'getbytes': lambda s: bytearray(to_str(s).encode(_codec(low))),
                              'getstring': lambda b: _decode(bytes(b), _codec(low))})
    if t == 'environment' and low == 'newline':
        return '\r\n'
    if t == 'io.path' and low == 'directoryseparatorchar':
        return '\\'
    if t == 'io.filemode' and low in ('create', 'open', 'append', 'openorcreate', 'createnew', 'truncate'):
        return PSObj({}, 'System.IO.FileMode', text=name[0].upper() + name[1:])
    if t == 'io.fileaccess' and low in ('read', 'write', 'readwrite'):
        return PSObj({}, 'System.IO.FileAccess', text={'read': 'Read', 'write': 'Write', 'readwrite': 'ReadWrite'}[low])
    if t == 'int32' or t == 'int':
        if low == 'maxvalue':
            return 2 ** 31 - 1
    fail("Unable to find the static member '{0}' of [{1}].".format(name, type_name), 'InvalidOperation')


def _codec(low):
    return {'utf8': 'utf-8', 'unicode': 'utf-16-le', 'ascii': 'ascii'}[low]


def _decode(data, codec):
    return data.decode(codec, 'replace')


def call_static(host, type_name, name, args):
    t, low = _norm(type_name), name.lower()
    key = t + '::' + low
    if key == 'convert::frombase64string':
        if args[0] is None:
            _method_error(name, args, 'Value cannot be null.\r\nParameter name: s', 'System.ArgumentNullException')
        try:
            return bytearray(base64.b64decode(to_str(args[0]), validate=True))
        except (binascii.Error, ValueError):
            _method_error(name, args, 'The input is not a valid Base-64 string as it contains a non-base 64 '
                                      'character, more than two padding characters, or an illegal character among '
                                      'the padding characters. ', 'System.FormatException')
    if key == 'convert::tobase64string':
        return base64.b64encode(bytes(args[0])).decode('ascii')
    if key == 'convert::tobyte':
        try:
            return int(to_str(args[0]), to_int(args[1]) if len(args) > 1 else 10) & 0xFF
        except ValueError:
            _method_error(name, args, 'Could not find any recognizable digits.', 'System.FormatException')
    if key == 'console::openstandardoutput':
        return PSObj({}, 'System.IO.Stream', methods={
            'write': lambda data, offset, count: host.write_stdout(bytes(data)[to_int(offset):to_int(offset) +
                                                                             to_int(count)]),
            'flush': lambda: None})
    if key in ('gc::collect', 'gc::waitforpendingfinalizers'):
        host.gc_collected()
        return None
    if key == 'environment::expandenvironmentvariables':
        return host.expand_env(to_str(args[0]))
    if key == 'environment::getenvironmentvariable':
        return host.env.get(to_str(args[0]).lower())
    if key == 'io.file::writealltext':
        return host.files.write_text(to_str(args[0]), to_str(args[1]), args[2] if len(args) > 2 else None)
    if key == 'io.file::writeallbytes':
        return host.files.write_bytes(to_str(args[0]), bytes(args[1]))
    if key == 'io.file::readalltext':
        return host.files.read_text(to_str(args[0]))
    if key == 'io.file::readallbytes':
        return bytearray(host.files.read_bytes(to_str(args[0])))
    if key == 'io.file::exists':
        return host.files.is_file(to_str(args[0]))
    if key == 'io.file::appendalltext':
        return host.files.write_text(to_str(args[0]), to_str(args[1]), None, append=True)
    if key == 'io.path::getfilename':
        return to_str(args[0]).replace('/', '\\').rsplit('\\', 1)[-1]
    if key == 'io.path::gettempfilename':
        return host.expand_env('%TEMP%\\tmp{0}.tmp'.format(uuid.uuid4().hex[:4].upper()))
    if key == 'io.path::combine':
        return '\\'.join(to_str(a).rstrip('\\') for a in args)
    if key == 'math::round':
        value = float(to_number(args[0]))
        return round(value, to_int(args[1])) if len(args) > 1 else round(value)
    if key == 'math::min':
        return min(to_number(args[0]), to_number(args[1]))
    if key == 'math::max':
        return max(to_number(args[0]), to_number(args[1]))
    if key == 'guid::newguid':
        g = host.new_guid()
        return PSObj({}, 'System.Guid', text=str(g), methods={
            'tostring': lambda fmt='D': g.hex if to_str(fmt).upper() == 'N' else str(g)})
    if key == 'diagnostics.stopwatch::startnew':
        start = host.clock_ms

        def elapsed():
            ms = host.clock_ms - start
            return PSObj({'TotalMilliseconds': float(ms), 'TotalSeconds': ms / 1000.0}, 'System.TimeSpan')
        return PSObj({'Elapsed': Getter(elapsed)}, 'System.Diagnostics.Stopwatch')
    if key == 'scriptblock::create':
        return host.compile_block(to_str(args[0]))
    if key == 'string::isnullorempty':
        return args[0] is None or to_str(args[0]) == ''
    if key == 'string::join':
        return to_str(args[0]).join(to_str(v) for v in enumerate_value(args[1]))
    fail("Method invocation failed because [{0}] does not contain a method named '{1}'.".format(type_name, name),
         'InvalidOperation', error_id='MethodNotFound')


def new_object(host, type_name, args):
    """New-Object <type> [args]: the few types the scripts construct."""
    t = _norm(type_name)
    if t in ('byte[]',):
        return bytearray(to_int(args[0]) if args else 0)
    if t == 'text.utf8encoding':
        bom = to_bool(args[0]) if args else True
        return PSObj({'BOM': bom}, 'System.Text.UTF8Encoding', methods={
            'getbytes': lambda s: bytearray(to_str(s).encode('utf-8'))})
    if t == 'componentmodel.win32exception':
        code = to_int(args[0]) if args else 0
        return PSObj({'Message': host.win32_message(code), 'NativeErrorCode': code},
                     'System.ComponentModel.Win32Exception')
    if t == 'net.sockets.tcpclient':
        return host.tcp_client()
    if t == 'management.automation.pscredential':
        if len(args) != 2 or not isinstance(args[1], PSObj) or args[1].type_name != 'System.Security.SecureString':
            fail('Cannot find an overload for "PSCredential" and the argument count: "{0}".'.format(len(args)),
                 'InvalidOperation', error_id='ConstructorInvokedThrowException')
        return PSObj({'UserName': to_str(args[0]), 'Password': args[1]}, 'System.Management.Automation.PSCredential')
    if t == 'io.filestream':
        return host.file_stream(to_str(args[0]), to_str(args[1]), to_str(args[2]) if len(args) > 2 else 'ReadWrite')
    if t == 'security.cryptography.sha256managed':
        import hashlib
        return PSObj({}, 'System.Security.Cryptography.SHA256Managed',
                     methods={'computehash': lambda b: bytearray(hashlib.sha256(bytes(b)).digest())})
    fail('Cannot find type [{0}]: verify that the assembly containing this type is loaded.'.format(type_name),
         'InvalidType', error_id='TypeNotFound,Microsoft.PowerShell.Commands.NewObjectCommand')


def environment(desktop):
    return {'computername': desktop.computer_name, 'systemroot': 'C:\\Windows', 'windir': 'C:\\Windows',
            'systemdrive': 'C:', 'temp': 'C:\\Users\\storedesk\\AppData\\Local\\Temp',
            'tmp': 'C:\\Users\\storedesk\\AppData\\Local\\Temp', 'username': 'storedesk',
            'userprofile': 'C:\\Users\\storedesk', 'programdata': 'C:\\ProgramData',
            'programfiles': 'C:\\Program Files', 'public': 'C:\\Users\\Public'}


_ = os
