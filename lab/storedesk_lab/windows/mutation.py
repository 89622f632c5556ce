"""Mutation check of the shipped PowerShell against the fake desktops (a test tool).

A mutant is a shipped script with one state-changing statement removed, or one cmdlet's named parameter
renamed. It is killed when its outcome (exit code, JSON document, the desktop's state after the run) differs
from the unmutated script's on at least one scenario: a test that runs the script would notice.

State-changing statements are found two ways and united: syntactically (a statement that calls a cmdlet the
model marks as changing state, a native command, a state-changing .NET method, or a function of the script
that does so), and by running the scenarios (a statement during which the desktop's journal grew).
"""

from __future__ import annotations

import copy
import json

from . import cmdlets
from .pshost import NATIVES
from .powershell import parse, run_script

MUTATING_METHODS = {'writealltext', 'writeallbytes', 'appendalltext', 'setlength'}


def _text(src, node):
    return node.text if node.text is not None else src[node.start_byte:node.end_byte].decode('utf-8')


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _command_name(src, node):
    for child in node.children:
        if child.type == 'command_name':
            return _text(src, child)
        if child.type == 'command_name_expr':
            inner = child.children[0]
            return _text(src, inner) if inner.type == 'command_name' else None
    return None


def _functions(src, root):
    found = {}
    for node in _walk(root):
        if node.type == 'function_statement':
            name = next(c for c in node.children if c.type == 'function_name')
            found[_text(src, name).lower()] = node
    return found


def _calls(src, node):
    """Command names (lower), native file paths and method names a node's subtree calls."""
    names = set()
    for sub in _walk(node):
        if sub.type == 'command':
            name = _command_name(src, sub)
            if name:
                names.add(name.lower())
            elements = next((c for c in sub.children if c.type == 'command_elements'), None)
            for child in (elements.children if elements is not None else []):
                text = _text(src, child).strip("'\"").lower()
                if text in NATIVES:
                    names.add(text)
        if sub.type == 'invokation_expression':
            member = next((c for c in sub.children if c.type == 'member_name'), None)
            if member is not None:
                names.add('.' + _text(src, member).lower())
    return names


def _mutating(names, functions_mutating):
    for name in names:
        spec = cmdlets.CMDLETS.get(name)
        if spec is not None and spec.mutates or name in NATIVES or name in functions_mutating:
            return True
        if name.startswith('.') and name[1:] in MUTATING_METHODS:
            return True
    return False


def statements(src, root):
    """Simple statements (pipelines in a statement list), in source order."""
    return [c for n in _walk(root) if n.type == 'statement_list' for c in n.children if c.type == 'pipeline']


def state_changing(src, root):
    functions = _functions(src, root)
    mutating = set()
    changed = True
    while changed:       # a function is state-changing when its body calls something that is
        changed = False
        for name, node in functions.items():
            if name not in mutating and _mutating(_calls(src, node), mutating):
                mutating.add(name)
                changed = True
    return [n for n in statements(src, root) if _mutating(_calls(src, n), mutating)]


def parameters(src, root):
    """command_parameter nodes of cmdlet calls (not the script's own functions)."""
    own = _functions(src, root)
    found = []
    for node in _walk(root):
        if node.type != 'command':
            continue
        name = (_command_name(src, node) or '').lower()
        if name in own or name not in cmdlets.CMDLETS:
            continue
        elements = next((c for c in node.children if c.type == 'command_elements'), None)
        for child in (elements.children if elements is not None else []):
            if child.type == 'command_parameter':
                found.append((name, child))
    return found


def unreached(src, root):
    """Functions the script defines (shared code pasted in) but never calls, directly or through others."""
    functions = _functions(src, root)
    spans = [(n.start_byte, n.end_byte) for n in functions.values()]
    top = set()
    for node in _walk(root):
        if node.type == 'command' and not any(a <= node.start_byte < b for a, b in spans):
            top.add((_command_name(src, node) or '').lower())
    reached, todo = set(), [n for n in top if n in functions]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        todo.extend(n for n in _calls(src, functions[name]) if n in functions and n not in reached)
    return dict((name, node) for name, node in functions.items() if name not in reached)


class Mutant(object):
    def __init__(self, kind, label, text, span, tree, dead=None, line=''):
        self.kind, self.label, self.text, self.span, self.tree = kind, label, text, span, tree
        self.line = line      # the source line the mutation is on
        self.dead = dead      # the never-called function this mutant is in (not counted)

    def __repr__(self):
        return 'Mutant({0}: {1})'.format(self.kind, self.label)


def _replace(root, target, replacement):
    """A copy of the tree with target replaced (None: removed); only the path to it is copied."""
    if root is target:
        return replacement
    for i, child in enumerate(root.children):
        if child.start_byte <= target.start_byte and target.end_byte <= child.end_byte:
            new = _replace(child, target, replacement)
            if new is child:
                continue
            children = list(root.children)
            if new is None:
                del children[i]
            else:
                children[i] = new
            return root.copy(children)
    return root


def _line(data, offset):
    start = data.rfind(b'\n', 0, offset) + 1
    end = data.find(b'\n', offset)
    return data[start:end if end >= 0 else len(data)].decode('utf-8').strip()


def mutants(text, dynamic_spans=()):
    data = text.encode('utf-8')
    root = parse(text)
    spans = dict(((n.start_byte, n.end_byte), n) for n in state_changing(data, root))
    for span in dynamic_spans:
        if span not in spans:
            node = next((n for n in statements(data, root) if (n.start_byte, n.end_byte) == span), None)
            if node is not None:
                spans[span] = node
    dead = dict(((n.start_byte, n.end_byte), name) for name, n in unreached(data, root).items())

    def dead_in(start):
        return next((name for (a, b), name in dead.items() if a <= start < b), None)
    found = []
    for (start, end), node in sorted(spans.items()):
        line = data[:start].count(b'\n') + 1
        label = 'line {0}: remove `{1}`'.format(line, _text(data, node).splitlines()[0][:70])
        found.append(Mutant('remove', label, (data[:start] + data[end:]).decode('utf-8'), (start, end),
                            _replace(root, node, None), dead_in(start), _line(data, start)))
    for cmdlet, node in parameters(data, root):
        line = data[:node.start_byte].count(b'\n') + 1
        name = _text(data, node).rstrip(':')
        label = 'line {0}: {1} {2} -> {2}Renamed'.format(line, cmdlet, name)
        mutated = data[:node.start_byte] + (name + 'Renamed').encode() + data[node.start_byte + len(name):]
        found.append(Mutant('rename', label, mutated.decode('utf-8'), (node.start_byte, node.end_byte),
                            _replace(root, node, node.copy(text=name + 'Renamed')), dead_in(node.start_byte),
                            _line(data, node.start_byte)))
    return found


# ---------------------------------------------------------------- outcomes

def snapshot(desktop):
    """What a user (or the next run) can see of a desktop's state after a script."""
    profiles = [(p.sid, p.loaded, copy.deepcopy(p.hive)) for p in list(desktop.profiles) + [desktop.default_user]]
    return {
        'printers': copy.deepcopy(desktop.printers), 'drivers': copy.deepcopy(desktop.printer_drivers),
        'ports': copy.deepcopy(desktop.printer_ports), 'driver_store': copy.deepcopy(desktop.driver_store),
        'registry': copy.deepcopy(desktop.registry), 'profiles': profiles,
        'files': copy.deepcopy(desktop.files), 'dirs': sorted(d.lower() for d in desktop.dirs),
        'mounts': sorted((k, p.sid) for k, p in desktop.mounts.items()),
        'software': copy.deepcopy(desktop.installed_software), 'sysprep_state': desktop.sysprep_state,
        'processes': list(desktop.processes), 'test_pages': list(desktop.test_pages),
    }


def outcome(desktop, execution):
    text = execution.stdout.decode('utf-8', 'replace')
    try:
        doc = json.loads(text)
    except ValueError:
        doc = text
    err = execution.stderr.decode('utf-8', 'replace')
    if 'the interpreter crashed' in err:
        raise AssertionError('the fake crashed:\n' + err)
    return {'rc': execution.rc, 'doc': doc, 'state': snapshot(desktop)}


def run_steps(text, scenario, trace=None, tree=None):
    """Run a scenario: (make_desktop, [(request, stdin or None), ...]); the outcome of every step."""
    from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import with_input
    desktop, ctx = scenario['desktop']()
    results = []
    for step in scenario['steps']:
        script = with_input(text, step['input']) if 'input' in step else text
        hook = None
        if trace is not None:
            def hook(interp, desktop=desktop):
                interp.trace = (trace, desktop)
        if step.get('stdin') is not None:
            loader = run_script(desktop, script, ctx)
            execution = run_script(desktop, loader.script, ctx, stdin=step['stdin'], hook=hook, tree=tree)
        else:
            execution = run_script(desktop, script, ctx, hook=hook, tree=tree)
        results.append(outcome(desktop, execution))
    return results


def check(text, scenarios):
    """(mutants, survivors, dead): every mutant of text run against the scenarios (cheapest scenario first);
    mutants inside functions the script never calls are returned apart (dead) and not run."""
    trace = set()
    scenarios = sorted(scenarios, key=lambda s: len(s['steps']))
    baseline = [run_steps(text, s, trace) for s in scenarios]
    found = mutants(text, trace)
    dead = [m for m in found if m.dead]
    found = [m for m in found if not m.dead]
    survivors = []
    for mutant in found:
        killed = False
        for scenario, expected in zip(scenarios, baseline):
            if run_steps(text, scenario, tree=mutant.tree) != expected:
                killed = True
                break
        if not killed:
            survivors.append(mutant)
    return found, survivors, dead
