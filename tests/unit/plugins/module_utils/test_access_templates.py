"""StoredeskAutomation covers every Proxmox API call under plugins/.

Finds the calls (client.get/post/put/delete/request with a literal path, client.path(...), or a formatted
string), matches them to the PVE 9 API schema that fakepve ships (its `permissions` per method), and checks
that the role's privileges satisfy each check. Methods the schema opens to every user but checks in code
(PVE's handlers) are in CODE_CHECKS. A new API call in a module fails this test until the role covers it.
"""

import ast
import gzip
import json
import os
import re

import fakepve
import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils._access_templates import automation_privileges

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLE = set(automation_privileges())
METHODS = {'get': 'GET', 'post': 'POST', 'put': 'PUT', 'delete': 'DELETE'}
# 'user: all' in the schema, checked inside the handler (alternatives: any one set suffices).
CODE_CHECKS = {
    ('GET', '/cluster/resources'): [{'VM.Audit', 'Datastore.Audit', 'Pool.Audit', 'Sys.Audit'}],
    ('GET', '/pools'): [{'Pool.Audit'}],
    ('GET', '/access/users'): [{'User.Modify'}, {'Sys.Audit'}],
    ('GET', '/access/groups'): [{'Sys.Audit'}, {'User.Modify'}],
    ('GET', '/access/acl'): [{'Sys.Audit'}],
    ('GET', '/nodes/{node}/tasks'): [{'Sys.Audit'}],
    ('POST', '/nodes/{node}/vzdump'): [{'VM.Backup', 'Datastore.AllocateSpace'}],
    ('GET', '/cluster/mapping/usb'): [{'Mapping.Audit'}],
    ('POST', '/nodes/{node}/qemu/{vmid}/clone'): [{'Datastore.AllocateSpace', 'SDN.Use'}],
    # pve-storage src/PVE/API2/Storage/Content.pm, delete: AllocateSpace + VM.Backup only for a VM's backup
    ('DELETE', '/nodes/{node}/storage/{storage}/content/{volume}'): [{'Datastore.Allocate'}],
}


def schema():
    path = os.path.join(os.path.dirname(fakepve.__file__), 'data', 'pve-api.json.gz')
    with gzip.open(path) as fh:
        return json.load(fh)['paths']


ANY = '{}'


class Resolver(object):
    """Reads API paths from the code: literals, client.path(...), f-strings, '...'.format(), `a + b`,
    local variables, loops over module-level tables and small helpers that return a path."""

    def __init__(self, trees):
        self.functions = {}
        self.constants = {}
        self.calls = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.Call)]
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.functions.setdefault(node.name, node)
            for node in tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    self.constants[node.targets[0].id] = node.value

    def paths(self, node, scope, depth=0):
        """Possible values of an expression as strings with ANY for unknown parts."""
        if depth > 8:
            return [ANY]
        if isinstance(node, ast.Constant):
            return [str(node.value)]
        if isinstance(node, ast.JoinedStr):
            return [''.join(v.value if isinstance(v, ast.Constant) else ANY for v in node.values)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return [a + b for a in self.paths(node.left, scope, depth + 1)
                    for b in self.paths(node.right, scope, depth + 1)]
        if isinstance(node, ast.Name):
            return self._name(node.id, scope, depth)
        if isinstance(node, ast.Call):
            return self._call(node, scope, depth)
        return [ANY]

    def _name(self, name, scope, depth):
        found = []
        for node in ast.walk(scope) if scope is not None else ():
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                found += self.paths(node.value, scope, depth + 1)
            elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Tuple):
                names = [getattr(e, 'id', None) for e in node.target.elts]
                table = self.constants.get(getattr(node.iter, 'id', None))
                if name in names and isinstance(table, (ast.Tuple, ast.List)):
                    pos = names.index(name)
                    found += [self.paths(row.elts[pos], scope, depth + 1)[0] for row in table.elts
                              if isinstance(row, ast.Tuple) and len(row.elts) > pos]
        return found or [ANY]

    def _call(self, node, scope, depth):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', None)
        if name == 'format' and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Constant):
            return [re.sub(r'\{[^}]*\}', ANY, func.value.value)]
        if name == 'path':
            return ['/' + '/'.join(parts) for parts in self._parts(node.args, scope)]
        helper = self.functions.get(name)
        if helper is not None and name.endswith('path'):
            returns = [n.value for n in ast.walk(helper) if isinstance(n, ast.Return) and n.value is not None]
            named = len([a for a in helper.args.args if a.arg != 'self'])
            out = []
            for extra in self._parts(node.args[named:], scope):
                for ret in returns:
                    for text in self.paths(ret, helper, depth + 1):
                        out.append(text.replace('/*', ''.join('/' + e for e in extra)))
            return out or [ANY]
        return [ANY]

    def _parts(self, args, scope):
        """Segment lists of call arguments; a *param of the enclosing function takes the literal tuples
        its callers pass."""
        combos = [[]]
        for arg in args:
            if isinstance(arg, ast.Starred):
                options = self._starred(arg.value, scope)
            else:
                options = [[str(arg.value) if isinstance(arg, ast.Constant) else ANY]]
            combos = [c + o for c in combos for o in options]
        return combos

    def _starred(self, node, scope):
        params = [a.arg for a in scope.args.args] if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) \
            else []
        if not isinstance(node, ast.Name) or node.id not in params:
            return [['*']]
        index = params.index(node.id) - (1 if params and params[0] == 'self' else 0)
        out = []
        for call in self.calls:
            func = call.func
            if (func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', None)) != scope.name:
                continue
            if len(call.args) > index and isinstance(call.args[index], (ast.Tuple, ast.List)) and call.args[
                    index].elts and all(
                    isinstance(e, ast.Constant) for e in call.args[index].elts):
                out.append([str(e.value) for e in call.args[index].elts])
        return out or [['*']]


# A client call: the receiver is the client itself (client, self.client, self._client, client.session), not a
# dict read from it (`(client.get(p) or {}).get('status')` is one API call, not two).
CLIENT_RE = re.compile(r'^(self\.)?_?client(\.session)?$')
# Call sites whose path the scan cannot read, each declared with the API methods it reaches; the role must cover
# those too. A new unreadable call site fails the test until it is declared here.
DECLARED = {
    # multipart upload through the client's session; path built by answer_iso's caller
    ('plugins/module_utils/_answer_iso.py', '_multipart_post'): [('POST', '/nodes/{}/storage/{}/upload')],
}


def _enclosing(tree):
    """{id(call node): [function nodes around it, outermost first]}."""
    out = {}

    def walk(node, chain):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            chain = chain + [node]
        if isinstance(node, ast.Call):
            out[id(node)] = chain
        for child in ast.iter_child_nodes(node):
            walk(child, chain)
    walk(tree, [])
    return out


def api_calls():
    """(file, line, method, path or None) of every client call in plugins/; a call nested in several functions
    takes the first enclosing scope that reads all of its paths (e.g. a *param of the outer function)."""
    trees = {}
    for base, _dirs, files in os.walk(os.path.join(ROOT, 'plugins')):
        for name in files:
            if name.endswith('.py') and name != '_pve_client.py':
                full = os.path.join(base, name)
                with open(full, encoding='utf-8') as fh:
                    trees[os.path.relpath(full, ROOT)] = ast.parse(fh.read())
    resolver = Resolver(trees.values())
    found = []
    for where, tree in sorted(trees.items()):
        scopes = _enclosing(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)) or not node.args:
                continue
            if not CLIENT_RE.match(ast.unparse(node.func.value)) or not scopes.get(id(node)):
                continue
            if node.func.attr in METHODS:
                method, arg = METHODS[node.func.attr], node.args[0]
            elif node.func.attr == 'request' and len(node.args) > 1 and isinstance(node.args[0], ast.Constant):
                method, arg = node.args[0].value, node.args[1]
            else:
                continue
            results = []
            for func in reversed(scopes[id(node)]):
                paths = []
                for path in sorted(set(resolver.paths(arg, func))):
                    path = path.split('?')[0]
                    ok = path.startswith('/') and path.strip('/').split('/')[0] != ANY and '*' not in path
                    paths.append(path if ok else None)
                results.append(paths)
            best = next((r for r in results if None not in r), results[0])
            declared = DECLARED.get((where, scopes[id(node)][-1].name))
            if None in best and declared:
                best = [p for m, p in declared if m == method]
            found += [(where, node.lineno, method, p) for p in best]
    return sorted(set(found), key=lambda c: (c[0], c[1], c[2], c[3] or ''))


def _segments_match(ours, template):
    a, b = ours.strip('/').split('/'), template.strip('/').split('/')
    return len(a) == len(b) and all(x == y or ANY in x or y.startswith('{') for x, y in zip(a, b))


def satisfied(check):
    if not check:
        return True
    kind = check[0]
    if kind == 'perm':
        privs = check[2]
        return any(p in ROLE for p in privs) if 'any' in check else all(p in ROLE for p in privs)
    if kind == 'and':
        return all(satisfied(c) for c in check[1:])
    if kind == 'or':
        return any(satisfied(c) for c in check[1:])
    if kind == 'userid-param':
        return check[1] == 'self' or check[1] in ROLE
    if kind == 'userid-group':
        return any(p in ROLE for p in check[1])
    if kind == 'perm-modify':
        return 'Permissions.Modify' in ROLE
    raise AssertionError('unknown permission check {0}'.format(check))


CALLS = api_calls()


def test_the_scan_finds_the_known_calls():
    paths = set((m, p) for _f, _l, m, p in CALLS)
    assert ('GET', '/cluster/resources') in paths
    assert ('PUT', '/access/acl') in paths
    assert ('POST', '/access/users') in paths


@pytest.mark.parametrize('where,line,method,path', CALLS,
                         ids=['{0}:{1}:{2}:{3}'.format(*c) for c in CALLS])
def test_every_api_call_is_covered_by_the_automation_role(where, line, method, path):
    assert path, ('{0}:{1}: the API path cannot be read from the code: make it readable, or declare the call site '
                  'in DECLARED with the API methods it reaches'.format(where, line))
    paths = schema()
    matches = [t for t in paths if _segments_match(path, t) and method in paths[t]]
    assert matches, '{0}:{1}: {2} {3} is not a PVE 9 API method'.format(where, line, method, path)
    for template in matches:
        perm = paths[template][method].get('permissions') or {}
        assert satisfied(perm.get('check')), '{0}:{1}: {2} {3} needs {4}'.format(where, line, method, template, perm)
        for alternatives in [CODE_CHECKS.get((method, template))] if (method, template) in CODE_CHECKS else []:
            assert any(needed <= ROLE for needed in alternatives), '{0} {1} needs one of {2}'.format(
                method, template, alternatives)
