"""PowerShell values in the fake desktops' interpreter: hashtables, objects, errors and conversions.

Semantics as Windows PowerShell 5.1 documents them (MicrosoftDocs/PowerShell-Docs reference/5.1/
Microsoft.PowerShell.Core/About/): about_Hash_Tables (case-insensitive keys), about_Booleans (truthiness),
about_Comparison_Operators (case-insensitive, a collection on the left filters), about_Arithmetic_Operators
(the left operand's type decides), about_Type_Conversion, about_Automatic_Variables ($Matches).
"""

from __future__ import annotations

import json
import re


class PSHash(object):
    """@{}: keys compare case-insensitively (strings), insertion order kept for output."""

    def __init__(self, items=None):
        self._d = {}
        for k, v in (items or {}).items():
            self[k] = v

    @staticmethod
    def _k(key):
        return key.lower() if isinstance(key, str) else key

    def __getitem__(self, key):
        found = self._d.get(self._k(key))
        return found[1] if found else None

    def __setitem__(self, key, value):
        old = self._d.get(self._k(key))
        self._d[self._k(key)] = (old[0] if old else key, value)

    def __contains__(self, key):
        return self._k(key) in self._d

    def remove(self, key):
        self._d.pop(self._k(key), None)

    def keys(self):
        return [k for k, _ in self._d.values()]

    def items(self):
        return list(self._d.values())

    def __len__(self):
        return len(self._d)

    def __repr__(self):
        return 'PSHash({0!r})'.format(dict(self.items()))


class PSObj(object):
    """A PSCustomObject or a cmdlet's output object: properties case-insensitive, optional methods."""

    def __init__(self, props=None, type_name='System.Management.Automation.PSCustomObject', methods=None,
                 text=None):
        self.props = PSHash(props or {})
        self.type_name, self.methods, self.text = type_name, dict((k.lower(), v) for k, v in (methods or {}).items()), text

    def get(self, name):
        value = self.props[name]
        return value() if isinstance(value, Getter) else value

    def has(self, name):
        return name in self.props

    def __repr__(self):
        return 'PSObj({0}, {1!r})'.format(self.type_name, dict(self.props.items()))


class Getter(object):
    """A property computed when read (a stopwatch's Elapsed)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self):
        return self.fn()


class ScriptBlock(object):
    def __init__(self, node, interp, text=None):
        self.node, self.interp, self.text = node, interp, text
        self.preset = {}      # variables the block assigns first (see pshost.compile_block)


class TypeRef(object):
    """A type literal such as [Convert] or [Text.Encoding] used for static members."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return '[{0}]'.format(self.name)


class PSException(object):
    """What $_.Exception shows: .Message, .InnerException, the .NET type name."""

    def __init__(self, message, type_name='System.Management.Automation.RuntimeException', inner=None):
        self.message, self.type_name, self.inner = message, type_name, inner


class ErrorRecord(object):
    def __init__(self, message, category='NotSpecified', type_name='System.Management.Automation.RuntimeException',
                 error_id=None, inner=None, target=None):
        self.exception = PSException(message, type_name, inner)
        self.category, self.error_id, self.target = category, error_id or category, target

    def __str__(self):
        return self.exception.message


class PSRuntimeError(Exception):
    """A terminating error (throw, -ErrorAction Stop, a failed method call, a parameter binding error)."""

    def __init__(self, record):
        super().__init__(record.exception.message)
        self.record = record


def fail(message, category='NotSpecified', type_name='System.Management.Automation.RuntimeException', error_id=None):
    raise PSRuntimeError(ErrorRecord(message, category, type_name, error_id))


# ---------------------------------------------------------------- conversions

def unwrap(items):
    """Pipeline output as a value: nothing -> $null, one item -> that item, more -> an array."""
    if len(items) == 0:
        return None
    if len(items) == 1:
        return items[0]
    return list(items)


def enumerate_value(value):
    """What foreach / the pipeline iterate over: arrays item by item, $null as nothing, the rest as one."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def to_bool(value):
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ''
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return False
        if len(value) == 1:
            return to_bool(value[0])
        return True
    return True


def to_str(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'True' if value else 'False'
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (list, tuple)):
        return ' '.join(to_str(v) for v in value)
    if isinstance(value, PSHash):
        return 'System.Collections.Hashtable'
    if isinstance(value, PSObj):
        if value.text is not None:
            return value.text
        if value.type_name == 'System.Management.Automation.PSCustomObject':
            return '@{' + '; '.join('{0}={1}'.format(k, to_str(v)) for k, v in value.props.items()) + '}'
        return value.type_name
    if isinstance(value, ScriptBlock):
        return value.text or ''
    if isinstance(value, ErrorRecord):
        return value.exception.message
    if isinstance(value, TypeRef):
        return value.name
    if isinstance(value, (bytes, bytearray)):
        return 'System.Byte[]'
    return str(value)


def _cast_error(value, target, detail):
    fail('Cannot convert value "{0}" to type "{1}". Error: "{2}"'.format(to_str(value), target, detail),
         'InvalidArgument', 'System.Management.Automation.RuntimeException', 'InvalidCastFromStringToInteger')


def to_int(value, bits=32):
    target = 'System.Int32' if bits == 32 else 'System.Int64'
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return to_int(value[0], bits)
        fail('Cannot convert the "{0}" value of type "System.Object[]" to type "{1}".'.format(to_str(value), target),
             'InvalidArgument')
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        result = int(round(value))    # banker's rounding, as [int] does
    else:
        text = to_str(value).strip()
        try:
            result = int(text, 16) if text.lower().startswith('0x') else int(round(float(text))) if text else 0
        except ValueError:
            _cast_error(value, target, 'Input string was not in a correct format.')
    if not -2 ** (bits - 1) <= result < 2 ** (bits - 1):
        _cast_error(value, target, 'Value was either too large or too small for an {0}.'.format(
            'Int32' if bits == 32 else 'Int64'))
    return result


def to_number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return int(value)
    if value is None:
        return 0
    text = to_str(value).strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            fail('Cannot convert value "{0}" to type "System.Int32". Error: "Input string was not in a correct '
                 'format."'.format(text), 'InvalidArgument')


def ps_equal(left, right):
    """-eq for scalars: the right side converted to the left's type; strings case-insensitively."""
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool):
        return left == to_bool(right)
    if isinstance(left, (int, float)):
        try:
            return left == to_number(right)
        except PSRuntimeError:
            return False
    if isinstance(left, str):
        return left.lower() == to_str(right).lower()
    return left is right or left == right


def compare(left, right):
    """-lt/-gt ordering: numbers numerically, strings case-insensitively."""
    if isinstance(left, (int, float)) and not isinstance(left, bool):
        r = to_number(right)
        return (left > r) - (left < r)
    ls, rs = to_str(left).lower(), to_str(right).lower()
    return (ls > rs) - (ls < rs)


def dotnet_regex(pattern):
    """A .NET pattern as Python's re reads it (named groups (?<n>...) differ)."""
    return re.compile(re.sub(r'\(\?<([A-Za-z_]\w*)>', r'(?P<\1>', pattern), re.I)


def wildcard(pattern):
    out = ''
    for ch in pattern:
        out += {'*': '.*', '?': '.'}.get(ch) or re.escape(ch)
    return re.compile('^' + out + '$', re.I | re.S)


# ---------------------------------------------------------------- JSON

def to_json_value(value, depth, limit):
    """ConvertTo-Json's view of a value (reference/5.1/Microsoft.PowerShell.Utility/ConvertTo-Json.md:
    -Depth defaults to 2; deeper objects become their string form)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        if depth > limit:
            return to_str(value)
        return [to_json_value(v, depth + 1, limit) for v in value]
    if isinstance(value, (PSHash, PSObj)):
        if depth > limit:
            return to_str(value)
        items = value.items() if isinstance(value, PSHash) else value.props.items()
        return dict((to_str(k), to_json_value(v, depth + 1, limit)) for k, v in items)
    if isinstance(value, ErrorRecord):
        return to_str(value)
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    return to_str(value)


def from_json(text):
    """ConvertFrom-Json: objects as PSCustomObject, arrays as object[] (reference/5.1/.../ConvertFrom-Json.md)."""
    try:
        data = json.loads(text)
    except ValueError:
        fail('Invalid JSON primitive: {0}.'.format(text[:40]), 'NotSpecified',
             'System.ArgumentException', 'System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand')

    def conv(v):
        if isinstance(v, dict):
            return PSObj(dict((k, conv(x)) for k, x in v.items()))
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return conv(data)


def plain(value):
    """A value as plain Python data (dicts, lists) for tests and outcomes."""
    if isinstance(value, (PSHash, PSObj)):
        items = value.items() if isinstance(value, PSHash) else value.props.items()
        return dict((to_str(k), plain(v)) for k, v in items)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return value
