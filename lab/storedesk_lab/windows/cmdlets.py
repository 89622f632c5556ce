"""The cmdlets the shipped scripts call, acting on the desktop model.

Parameters are bound as PowerShell binds them (about_Parameters, about_CommonParameters in MicrosoftDocs/
PowerShell-Docs reference/5.1/Microsoft.PowerShell.Core/About/): by name (a unique prefix is enough),
then by position; a name the cmdlet does not have fails with "A parameter cannot be found that matches
parameter name 'X'." The names a cmdlet has come from tests/windows_reference/cmdlets.yml (Microsoft's
cmdlet reference; each row names its source file); a documented parameter this model does not implement
is refused too, so nothing is accepted silently.

The cmdlets live in cmdlets.py (utility), cmdlets_items.py (registry and files, PSDrives) and cmdlets_devices.py
(CIM, PnP, printing, sysprep's preconditions). Each cmdlet's behaviour follows its reference page (the `source` of its row in cmdlets.yml), e.g.
Add-PrinterDriver: "The specified driver does not exist in the driver store." unless the driver was staged
(pnputil /add-driver) first; Get-Printer -Name with no match is a non-terminating ObjectNotFound error.
"""

from __future__ import annotations

import os

from . import dotnet
from .providers import leaf
from .psvalues import (ErrorRecord, PSHash, PSObj, enumerate_value, fail, from_json, to_bool, to_int, to_json_value,
                       to_str, unwrap, wildcard)

CMDLETS = {}
REFERENCE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tests', 'windows_reference', 'cmdlets.yml')
COMMON = ['Verbose', 'Debug', 'ErrorAction', 'WarningAction', 'InformationAction', 'ErrorVariable',
          'WarningVariable', 'InformationVariable', 'OutVariable', 'OutBuffer', 'PipelineVariable']
COMMON_ALIASES = {'ea': 'ErrorAction', 'ev': 'ErrorVariable', 'wa': 'WarningAction', 'vb': 'Verbose',
                  'ov': 'OutVariable', 'ob': 'OutBuffer', 'db': 'Debug', 'infa': 'InformationAction',
                  'iv': 'InformationVariable', 'wv': 'WarningVariable', 'pv': 'PipelineVariable'}


class Cmdlet(object):
    def __init__(self, name, fn, mutates, positional, switches, implemented):
        self.name, self.fn, self.mutates = name, fn, mutates
        self.positional, self.switches, self.implemented = positional, switches, implemented


def cmdlet(name, positional=(), switches=(), params=(), mutates=False):
    """Register a cmdlet model; params: the (non-switch) parameters it implements."""
    def register(fn):
        CMDLETS[name.lower()] = Cmdlet(name, fn, mutates, list(positional), list(switches),
                                       list(params) + list(switches) + list(positional))
        return fn
    return register


_TABLE = None


def reference():
    """{cmdlet lower: {'name', 'parameters': {lower: {'name','aliases','switch'}}}} from cmdlets.yml."""
    global _TABLE
    if _TABLE is None:
        import yaml
        with open(REFERENCE) as fh:
            doc = yaml.load(fh, Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))
        table = {}
        for row in doc.get('cmdlets', []):
            params = {}
            for p in row.get('parameters', []):
                params[p['name'].lower()] = p
                for alias in p.get('aliases') or []:
                    params[alias.lower()] = p
            table[row['name'].lower()] = {'name': row['name'], 'parameters': params, 'source': row.get('source')}
        _TABLE = table
    return _TABLE


def bind(host, spec, args, scope, interp):
    """{canonical lower name: value} for a cmdlet call, with PowerShell's binding errors."""
    table = reference().get(spec.name.lower())
    if table is None:
        fail("The term '{0}' is not recognized as the name of a cmdlet, function, script file, or operable "
             "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
             "and try again.".format(spec.name), 'ObjectNotFound',
             'System.Management.Automation.CommandNotFoundException', 'CommandNotFoundException')
    documented = table['parameters']
    common = dict((c.lower(), c) for c in COMMON)
    common.update((k, v) for k, v in COMMON_ALIASES.items())
    bound, positional, pending = {}, [], None

    def canonical(name):
        low = name.lower()
        if low in documented:
            return documented[low]['name']
        if low in common:
            return common[low]
        hits = set(p['name'] for k, p in documented.items() if k.startswith(low))
        hits |= set(c for k, c in common.items() if k.startswith(low))
        if len(hits) == 1:
            return hits.pop()
        if len(hits) > 1:
            fail("Parameter cannot be processed because the parameter name '{0}' is ambiguous. Possible matches "
                 "include: {1}.".format(name, ' '.join('-' + h for h in sorted(hits))), 'InvalidArgument',
                 'System.Management.Automation.ParameterBindingException', 'AmbiguousParameter')
        fail("A parameter cannot be found that matches parameter name '{0}'.".format(name), 'InvalidArgument',
             'System.Management.Automation.ParameterBindingException', 'NamedParameterNotFound,' + spec.name)

    def is_switch(name):
        row = documented.get(name.lower())
        return bool(row and row.get('switch')) or name.lower() in ('verbose', 'debug')

    for kind, pname, value, has in args:
        if kind == 'splat':
            if isinstance(value, PSHash):
                for k, v in value.items():
                    bound[canonical(to_str(k)).lower()] = v
            else:
                positional.extend(enumerate_value(value))
            continue
        if kind == 'param':
            name = canonical(pname)
            if has == 'colon' or has is True and value is not None:
                bound[name.lower()] = value
            elif is_switch(name):
                bound[name.lower()] = True
            else:
                pending = name
                bound[name.lower()] = _MISSING
            continue
        if pending is not None:
            bound[pending.lower()] = value
            pending = None
        else:
            positional.append(value)
    for key, value in bound.items():
        if value is _MISSING:
            fail("Missing an argument for parameter '{0}'. Specify a parameter of type 'System.String' and try "
                 "again.".format(documented.get(key, {'name': key})['name']), 'InvalidArgument',
                 'System.Management.Automation.ParameterBindingException', 'MissingArgument,' + spec.name)
    for name in spec.positional:
        if not positional:
            break
        if name.lower() not in bound:
            bound[name.lower()] = positional.pop(0)
    if positional:
        fail("A positional parameter cannot be found that accepts argument '{0}'.".format(to_str(positional[0])),
             'InvalidArgument', 'System.Management.Automation.ParameterBindingException',
             'PositionalParameterNotFound,' + spec.name)
    implemented = set(p.lower() for p in spec.implemented) | set(c.lower() for c in COMMON)
    for key in bound:
        if key not in implemented:
            fail('storedesk fake desktop: parameter -{0} of {1} is documented but not modelled'.format(key, spec.name),
                 'NotImplemented')
    return bound


_MISSING = object()


def _obj(type_name, props, methods=None, text=None):
    return PSObj(props, type_name, methods, text)


def _name_filter(pattern):
    """-Name with wildcards (the printing cmdlets' -Name accepts them), matched case-insensitively."""
    if pattern is None:
        return lambda n: True
    pats = [wildcard(to_str(p)) for p in enumerate_value(pattern)]
    return lambda n: any(p.match(n) for p in pats)


def _find(mapping, name):
    for key in mapping:
        if key.lower() == to_str(name).lower():
            return key
    return None


# ---------------------------------------------------------------- utility cmdlets

@cmdlet('ConvertFrom-Json', positional=['InputObject'])
def convert_from_json(host, p, piped):
    text = p.get('inputobject') if 'inputobject' in p else '\n'.join(to_str(v) for v in piped or [])
    return enumerate_value(from_json(to_str(text))) if isinstance(from_json(to_str(text)), list) else \
        [from_json(to_str(text))]


@cmdlet('ConvertTo-Json', positional=['InputObject'], params=['Depth'], switches=['Compress'])
def convert_to_json(host, p, piped):
    import json
    value = p.get('inputobject') if 'inputobject' in p else unwrap(list(piped or []))
    data = to_json_value(value, 0, to_int(p.get('depth', 2)))
    if to_bool(p.get('compress')):
        return [json.dumps(data, ensure_ascii=False, separators=(',', ':'))]
    return [json.dumps(data, ensure_ascii=False, indent=4)]


@cmdlet('Out-String', params=['InputObject'], switches=['Stream'])
def out_string(host, p, piped):
    items = enumerate_value(p['inputobject']) if 'inputobject' in p else list(piped or [])
    return [''.join(to_str(v) + '\r\n' for v in items)]


@cmdlet('Where-Object', positional=['FilterScript'])
def where_object(host, p, piped):
    block = p.get('filterscript')
    return [item for item in piped or [] if to_bool(unwrap(host.interp.call_block(
        block, [], host.scope, None, dollar_underscore=item)))]


@cmdlet('ForEach-Object', positional=['Process'])
def foreach_object(host, p, piped):
    block = p.get('process')
    out = []
    for item in piped or []:
        out.extend(host.interp.call_block(block, [], host.scope, None, dollar_underscore=item))
    return out


@cmdlet('Sort-Object', positional=['Property'], switches=['Unique', 'Descending'])
def sort_object(host, p, piped):
    items = list(piped or [])
    keyf = (lambda v: to_str(dotnet.get_member(v, to_str(p['property']))).lower()) if p.get('property') else \
        (lambda v: (0, v) if isinstance(v, (int, float)) else (1, to_str(v).lower()))
    items.sort(key=keyf, reverse=to_bool(p.get('descending')))
    if to_bool(p.get('unique')):
        seen, unique = set(), []
        for v in items:
            k = keyf(v)
            if k not in seen:
                seen.add(k)
                unique.append(v)
        items = unique
    return items


@cmdlet('Start-Sleep', positional=['Seconds'], params=['Milliseconds'])
def start_sleep(host, p, piped):
    host.elapsed += to_int(p.get('seconds') or 0) + to_int(p.get('milliseconds') or 0) / 1000.0
    return []


@cmdlet('Write-Output', positional=['InputObject'], switches=['NoEnumerate'])
def write_output(host, p, piped):
    return enumerate_value(p.get('inputobject'))


@cmdlet('Join-Path', positional=['Path', 'ChildPath'])
def join_path(host, p, piped):
    base, child = to_str(p.get('path')), to_str(p.get('childpath'))
    if not base:
        fail("Cannot bind argument to parameter 'Path' because it is an empty string.", 'InvalidData',
             'System.Management.Automation.ParameterBindingValidationException')
    return [base.rstrip('\\/') + '\\' + child.lstrip('\\/')]


@cmdlet('Split-Path', positional=['Path'], switches=['Leaf', 'Parent'])
def split_path(host, p, piped):
    path = to_str(p.get('path')).rstrip('\\')
    if to_bool(p.get('leaf')):
        return [leaf(path)]
    return [path.rpartition('\\')[0]]


@cmdlet('New-Object', positional=['TypeName', 'ArgumentList'])
def new_object(host, p, piped):
    return [dotnet.new_object(host, to_str(p.get('typename')), enumerate_value(p.get('argumentlist')))]


@cmdlet('Get-Process', positional=['Name'], params=['Id'])
def get_process(host, p, piped):
    """Processes: this powershell.exe and the ones scripts started (sysprep) with made-up ids."""
    if p.get('id') is not None:
        wanted = [to_int(i) for i in enumerate_value(p['id'])]
        found = [_obj('System.Diagnostics.Process', {'Name': 'powershell', 'Id': host.pid})
                 for i in wanted if i == host.pid]
        if not found:
            host.error(ErrorRecord('Cannot find a process with the process identifier {0}.'.format(wanted[0]),
                                   'ObjectNotFound', error_id='NoProcessFoundForGivenId'), p)
        return found
    match = _name_filter(p.get('name'))
    found = [_obj('System.Diagnostics.Process', {'Name': n, 'ProcessName': n, 'Id': 4242})
             for n in host.desktop.processes if match(n)]
    if not found and p.get('name') is not None:
        host.error(ErrorRecord("Cannot find a process with the name \"{0}\". Verify the process name and call the "
                               "cmdlet again.".format(to_str(p['name'])), 'ObjectNotFound',
                               error_id='NoProcessFoundForGivenName'), p)
    return found


from . import cmdlets_devices, cmdlets_items  # noqa: E402,F401 - they register their cmdlets
