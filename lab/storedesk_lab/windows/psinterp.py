"""A PowerShell interpreter for the subset the shipped scripts use, over tree-sitter-powershell's AST.

Language semantics from Windows PowerShell 5.1's documentation (MicrosoftDocs/PowerShell-Docs,
reference/5.1/Microsoft.PowerShell.Core/About/): about_Scopes (dynamic scoping: a function or script block
sees its caller's variables, assignments are local), about_Functions / about_Functions_Advanced_Parameters
(param blocks, positional binding), about_Return (every statement's output is the function's output),
about_Pipelines, about_Splatting, about_Try_Catch_Finally, about_Preference_Variables ($ErrorActionPreference),
about_CommonParameters (-ErrorAction), about_Quoting_Rules, about_Switch, about_Command_Precedence
(functions before cmdlets before native commands; unknown names: "The term 'X' is not recognized ...").

Cmdlets, native commands and .NET members live in cmdlets.py / native.py / dotnet.py and act on the
desktop model. Every node this interpreter meets and does not know is an error, never a silent no-op.
"""

from __future__ import annotations

from . import dotnet
from .psoperators import Operators
from .psvalues import (ErrorRecord, PSHash, PSObj, PSRuntimeError, ScriptBlock, TypeRef, enumerate_value, fail,
                       ps_equal, to_bool, to_int, to_number, to_str, unwrap)

PASS = {'logical_expression', 'bitwise_expression', 'comparison_expression', 'additive_expression',
        'multiplicative_expression', 'format_expression', 'range_expression', 'array_literal_expression',
        'unary_expression', 'logical_argument_expression', 'bitwise_argument_expression',
        'comparison_argument_expression', 'additive_argument_expression', 'multiplicative_argument_expression',
        'format_argument_expression', 'range_argument_expression', 'argument_expression', 'pipeline_chain',
        'left_assignment_expression', 'expression_with_unary_operator'}
SKIP = {'comment', 'command_argument_sep', ';', '\n'}


class ReturnFlow(Exception):
    pass


class BreakFlow(Exception):
    pass


class ContinueFlow(Exception):
    pass


class ExitFlow(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Scope(object):
    def __init__(self, parent=None):
        self.vars, self.functions, self.parent = {}, {}, parent

    def lookup(self, name):
        scope = self
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            scope = scope.parent
        raise KeyError(name)

    def find_function(self, name):
        scope = self
        while scope is not None:
            if name in scope.functions:
                return scope.functions[name]
            scope = scope.parent
        return None

    def root(self):
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


class _Stdout(list):
    """The script's top-level output stream: written to stdout at once, in order with [Console] writes."""

    def __init__(self, host):
        super().__init__()
        self.host = host

    def append(self, value):
        self.host.write_output(value)

    def extend(self, values):
        for value in values:
            self.host.write_output(value)


class Function(object):
    def __init__(self, name, body, interp):
        self.name, self.body, self.interp = name, body, interp


class Interpreter(Operators):
    """Runs one script on one desktop (a `host` gives cmdlets, natives, the environment and the streams)."""

    def __init__(self, host, source):
        self.host, self.src = host, source
        self.globals = Scope()
        self.statement_hook = None      # called with each statement node before it runs (tests)
        self.trace = None               # (set, desktop): spans of statements during which the desktop changed

    @staticmethod
    def kids(node):
        """Children that are not separators or comments (cached on the node)."""
        found = node.kids
        if found is None:
            found = node.kids = [c for c in node.children if c.type not in SKIP]
        return found

    def collapse(self, node):
        """The node below a chain of one-child precedence wrappers (tree-sitter's expression levels)."""
        found = node.collapsed
        if found is None:
            found = node
            while found.type in PASS:
                parts = self.kids(found)
                if len(parts) != 1:
                    break
                found = parts[0]
            node.collapsed = found
        return found

    # ------------------------------------------------------------------ entry
    def run(self, root):
        """Run a script; its top-level output goes to stdout as it is written (as text)."""
        out = _Stdout(self.host)
        try:
            self.block(root, self.globals, out)
            return 0
        except ExitFlow as flow:
            return flow.code
        except ReturnFlow:
            return 0

    def text(self, node):
        if node.text is not None:
            return node.text
        found = node.cached
        if found is None:
            found = node.cached = self.src[node.start_byte:node.end_byte].decode('utf-8')
        return found

    # ------------------------------------------------------------------ statements
    def block(self, node, scope, out):
        """A statement_list / statement_block / program: each statement's output goes to out."""
        for child in node.children:
            if child.type in SKIP:
                continue
            if child.type == 'statement_list':
                self.block(child, scope, out)
                continue
            if child.type in ('{', '}', 'param_block'):
                continue
            self.statement(child, scope, out)

    def statement(self, node, scope, out):
        kind = node.type
        if kind in SKIP:
            return
        if self.statement_hook is not None:
            self.statement_hook(node)
        if kind == 'pipeline':
            if self.trace is None:
                return self.pipeline_statement(node, scope, out)
            spans, desktop = self.trace
            before = desktop.changes
            try:
                return self.pipeline_statement(node, scope, out)
            finally:
                if desktop.changes != before:
                    spans.add((node.start_byte, node.end_byte))
        if kind == 'function_statement':
            return self.define_function(node, scope)
        if kind == 'if_statement':
            return self.if_statement(node, scope, out)
        if kind == 'foreach_statement':
            return self.foreach_statement(node, scope, out)
        if kind == 'for_statement':
            return self.for_statement(node, scope, out)
        if kind == 'while_statement':
            return self.while_statement(node, scope, out)
        if kind == 'try_statement':
            return self.try_statement(node, scope, out)
        if kind == 'switch_statement':
            return self.switch_statement(node, scope, out)
        if kind == 'flow_control_statement':
            return self.flow(node, scope, out)
        if kind == 'empty_statement':
            return
        fail('storedesk fake desktop: statement {0} is not modelled: {1}'.format(kind, self.text(node)[:60]),
             'NotImplemented')

    def pipeline_statement(self, node, scope, out):
        named = [c for c in node.children if c.type not in SKIP]
        if len(named) == 1 and named[0].type == 'assignment_expression':
            return self.assign(named[0], scope)
        values = self.pipeline(node, scope)
        out.extend(values)

    def define_function(self, node, scope):
        name = next(c for c in node.children if c.type == 'function_name')
        body = next(c for c in node.children if c.type == 'script_block')
        scope.functions[self.text(name).lower()] = Function(self.text(name), body, self)

    def if_statement(self, node, scope, out):
        children = node.children
        cond = next(c for c in children if c.type == 'pipeline')
        body = next(c for c in children if c.type == 'statement_block')
        if to_bool(self.value(cond, scope)):
            return self.block(body, scope, out)
        for child in children:
            if child.type == 'elseif_clauses':
                for clause in child.children:
                    if clause.type != 'elseif_clause':
                        continue
                    c = next(x for x in clause.children if x.type == 'pipeline')
                    if to_bool(self.value(c, scope)):
                        return self.block(next(x for x in clause.children if x.type == 'statement_block'), scope, out)
            if child.type == 'else_clause':
                return self.block(next(x for x in child.children if x.type == 'statement_block'), scope, out)

    def foreach_statement(self, node, scope, out):
        var = next(c for c in node.children if c.type == 'variable')
        source = next(c for c in node.children if c.type == 'pipeline')
        body = next(c for c in node.children if c.type == 'statement_block')
        items = self.pipeline(source, scope)
        items = enumerate_value(unwrap(items)) if len(items) == 1 else items
        name = self.var_name(var)
        for item in items:
            scope.vars[name] = item
            try:
                self.block(body, scope, out)
            except ContinueFlow:
                continue
            except BreakFlow:
                break

    def for_statement(self, node, scope, out):
        parts = dict((c.type, c) for c in node.children)
        if 'for_initializer' in parts:
            self.block(parts['for_initializer'], scope, [])
        while True:
            if 'for_condition' in parts:
                cond = next(c for c in parts['for_condition'].children if c.type == 'pipeline')
                if not to_bool(self.value(cond, scope)):
                    break
            try:
                self.block(parts['statement_block'], scope, out)
            except ContinueFlow:
                pass
            except BreakFlow:
                break
            if 'for_iterator' in parts:
                self.block(parts['for_iterator'], scope, [])

    def while_statement(self, node, scope, out):
        cond_node = next(c for c in node.children if c.type == 'while_condition')
        cond = next(c for c in cond_node.children if c.type == 'pipeline')
        body = next(c for c in node.children if c.type == 'statement_block')
        guard = 0
        while to_bool(self.value(cond, scope)):
            guard += 1
            if guard > 100000:
                fail('storedesk fake desktop: a while loop ran 100,000 times', 'LimitsExceeded')
            try:
                self.block(body, scope, out)
            except ContinueFlow:
                continue
            except BreakFlow:
                break

    def try_statement(self, node, scope, out):
        body = next(c for c in node.children if c.type == 'statement_block')
        catches = next((c for c in node.children if c.type == 'catch_clauses'), None)
        final = next((c for c in node.children if c.type == 'finally_clause'), None)
        try:
            try:
                self.block(body, scope, out)
            except PSRuntimeError as err:
                if catches is None:
                    raise
                clause = next(c for c in catches.children if c.type == 'catch_clause')
                saved = scope.vars.get('_')
                scope.vars['_'] = err.record
                try:
                    self.block(next(c for c in clause.children if c.type == 'statement_block'), scope, out)
                finally:
                    scope.vars['_'] = saved
        finally:
            if final is not None:
                self.block(next(c for c in final.children if c.type == 'statement_block'), scope, out)

    def switch_statement(self, node, scope, out):
        cond = next(c for c in node.children if c.type == 'switch_condition')
        value = self.value(next(c for c in cond.children if c.type == 'pipeline'), scope)
        body = next(c for c in node.children if c.type == 'switch_body')
        clauses = [c for c in next(c for c in body.children if c.type == 'switch_clauses').children
                   if c.type == 'switch_clause']
        matched = False
        default = None
        for clause in clauses:
            cond_node = next(c for c in clause.children if c.type == 'switch_clause_condition')
            block = next(c for c in clause.children if c.type == 'statement_block')
            if self.text(cond_node).lower() == 'default':
                default = block
                continue
            test = cond_node.children[0] if cond_node.children else cond_node
            if ps_equal(value, self.value(test, scope) if cond_node.children else self.text(cond_node)):
                matched = True
                try:
                    self.block(block, scope, out)
                except BreakFlow:
                    return
        if not matched and default is not None:
            try:
                self.block(default, scope, out)
            except BreakFlow:
                return

    def flow(self, node, scope, out):
        keyword = node.children[0].type
        arg = next((c for c in node.children if c.type == 'pipeline'), None)
        if keyword == 'return':
            if arg is not None:
                out.extend(self.pipeline(arg, scope))
            raise ReturnFlow()
        if keyword == 'throw':
            value = self.value(arg, scope) if arg is not None else None
            if isinstance(value, ErrorRecord):
                raise PSRuntimeError(value)
            message = to_str(value) if value is not None else 'ScriptHalted'
            raise PSRuntimeError(ErrorRecord(message, 'OperationStopped', error_id=message))
        if keyword == 'exit':
            raise ExitFlow(to_int(self.value(arg, scope)) if arg is not None else 0)
        if keyword == 'break':
            raise BreakFlow()
        if keyword == 'continue':
            raise ContinueFlow()
        fail('storedesk fake desktop: {0} is not modelled'.format(keyword), 'NotImplemented')

    # ------------------------------------------------------------------ assignment
    def assign(self, node, scope):
        target = node.children[0]
        op = self.text(node.children[1])
        rhs = node.children[2]
        value = self.assigned_value(rhs, scope)
        target = self.collapse(target)
        if op != '=':
            current = self.value(target, scope)
            value = self.binary({'+=': '+', '-=': '-', '*=': '*', '/=': '/'}[op], current, value)
        self.store(target, value, scope)

    def assigned_value(self, node, scope):
        """$x = <rhs>: an expression's value as it is (@() stays an empty array); a command's output unwrapped."""
        if node.type == 'pipeline':
            parts = [c for c in node.children if c.type not in SKIP]
            if len(parts) == 1 and parts[0].type == 'pipeline_chain':
                stages = [c for c in parts[0].children if c.type not in SKIP and c.type != '|']
                if len(stages) == 1 and stages[0].type != 'command':
                    return self.value(stages[0], scope)
            elif len(parts) == 1 and parts[0].type != 'assignment_expression':
                return self.value(parts[0], scope)
            return unwrap(self.pipeline(node, scope))
        return self.value(node, scope)

    def store(self, target, value, scope):
        kind = target.type
        if kind == 'variable':
            name = self.var_name(target)
            if name == 'null':
                return
            if name.startswith('env:'):
                self.host.env[name[4:].lower()] = to_str(value)
                return
            scope.vars[name] = value
            return
        if kind == 'member_access':
            obj = self.value(target.children[0], scope)
            name = self.member_name(target.children[-1], scope)
            return dotnet.set_member(obj, name, value)
        if kind == 'element_access':
            obj = self.value(target.children[0], scope)
            index = self.value(target.children[2], scope)
            if isinstance(obj, PSHash):
                obj[index] = value
            elif isinstance(obj, (list, bytearray)):
                obj[to_int(index)] = value
            else:
                fail('Unable to index into an object of type {0}.'.format(type(obj).__name__), 'InvalidOperation')
            return
        if kind == 'cast_expression':   # [type]$x = ... (not used by the scripts)
            return self.store(target.children[-1], value, scope)
        fail('storedesk fake desktop: cannot assign to {0}'.format(self.text(target)), 'NotImplemented')

    def var_name(self, node):
        text = self.text(node)
        name = text[1:] if text[0] in '$@' else text
        if name.startswith('{') and name.endswith('}'):
            name = name[1:-1]
        return name.lower().replace('script:', '').replace('global:', '').replace('local:', '')

    # ------------------------------------------------------------------ pipelines
    def pipeline(self, node, scope):
        """The output (a list) of a pipeline node or any expression node."""
        if node.type == 'pipeline':
            parts = [c for c in node.children if c.type not in SKIP]
            if len(parts) == 1 and parts[0].type == 'assignment_expression':
                self.assign(parts[0], scope)
                return []
            if len(parts) == 1 and parts[0].type == 'pipeline_chain':
                return self.chain(parts[0], scope)
            if len(parts) == 1:
                return self.expression_output(parts[0], scope)
            fail('storedesk fake desktop: pipeline form not modelled: ' + self.text(node)[:60], 'NotImplemented')
        return self.expression_output(node, scope)

    def chain(self, node, scope):
        stages = [c for c in node.children if c.type not in SKIP and c.type != '|']
        data = None
        for i, stage in enumerate(stages):
            if stage.type == 'command':
                data = self.command(stage, scope, data)
            else:
                if i > 0:
                    fail('Expressions are only allowed as the first element of a pipeline.', 'ParserError')
                data = self.expression_output(stage, scope)
        return data

    def expression_output(self, node, scope):
        value = self.value(node, scope)
        if value is None and self._innermost(node).type == 'invokation_expression':
            return []     # a void method writes nothing to the pipeline
        if node.type in PASS or node.type in ('parenthesized_expression', 'array_expression', 'variable',
                                               'member_access', 'invokation_expression', 'element_access',
                                               'sub_expression', 'cast_expression'):
            return enumerate_value(value) if isinstance(value, (list, tuple)) else [value]
        return [value]

    def _innermost(self, node):
        return self.collapse(node)

    # ------------------------------------------------------------------ commands
    def command(self, node, scope, piped):
        name_node = next(c for c in node.children if c.type in ('command_name', 'command_name_expr'))
        invoke_op = any(c.type == 'command_invokation_operator' for c in node.children)
        elements = next((c for c in node.children if c.type == 'command_elements'), None)
        args, redirect = self.command_args(elements, scope)
        target = name_node
        if target.type == 'command_name_expr':
            target = target.children[0]
        if target.type == 'command_name':
            name = self.text(target)
            callee = name
        else:   # & $Action / & ([ScriptBlock]::Create(...))
            callee = self.value(target if target.type != 'path_command_name' else target.children[0], scope)
            name = None
        if isinstance(callee, ScriptBlock):
            return self.call_block(callee, args, scope, piped)
        if name is None:
            name = to_str(callee)
        fn = scope.find_function(name.lower())
        if fn is not None and not invoke_op or fn is not None and invoke_op:
            return fn.interp.call_block(ScriptBlock(fn.body, fn.interp), args, scope, piped, function=fn.name)
        return self.host.invoke(name, args, piped, scope, self, redirect)

    def command_args(self, elements, scope):
        """[(parameter name or None, value, has_value)] from command elements; and the redirections."""
        args, redirect = [], []
        if elements is None:
            return args, redirect
        for child in elements.children:
            if child.type in SKIP:
                continue
            if child.type == 'command_parameter':
                text = self.text(child)
                if text.endswith(':'):
                    args.append(['param', text[1:-1], None, 'colon'])
                else:
                    args.append(['param', text[1:], None, False])
                continue
            if child.type == 'redirection':
                redirect.append(self.text(child).replace(' ', ''))
                continue
            inner = self._innermost(child)
            if inner.type == 'generic_token':
                value = self.text(inner)
            elif inner.type == 'variable' and self.text(inner).startswith('@'):
                args.append(['splat', None, self.value_of_var(self.var_name(inner), scope), False])
                continue
            else:
                value = self.value(child, scope)
            if args and args[-1][0] == 'param' and args[-1][3] == 'colon':
                args[-1][2], args[-1][3] = value, True
            else:
                args.append(['arg', None, value, True])
        return args, redirect

    def call_block(self, block, args, scope, piped, function=None, dollar_underscore=None):
        """Invoke a function or script block: new child scope of the caller (about_Scopes), param binding."""
        if block.interp is not self:      # a block compiled from other text ([ScriptBlock]::Create)
            return block.interp.call_block(block, args, scope, piped, function, dollar_underscore)
        child = Scope(scope)
        child.vars.update(block.preset)
        body = block.node
        params = self.params_of(body)
        positional = []
        named = {}
        for kind, pname, value, has in args:
            if kind == 'splat':
                if isinstance(value, PSHash):
                    for k, v in value.items():
                        named[str(k).lower()] = v
                else:
                    positional.extend(enumerate_value(value))
            elif kind == 'param':
                key = pname.lower()
                match = [p for p in params if p[0] == key] or [p for p in params if p[0].startswith(key)]
                if len(match) != 1:
                    if function is not None and params:
                        fail("A parameter cannot be found that matches parameter name '{0}'.".format(pname),
                             'InvalidArgument', 'System.Management.Automation.ParameterBindingException',
                             'NamedParameterNotFound')
                    positional.append('-' + pname)
                    continue
                if match[0][1] == 'switch' and not has:
                    named[match[0][0]] = True
                else:
                    named[match[0][0]] = '__pending__'
            else:
                pending = [k for k, v in named.items() if v == '__pending__']
                if pending:
                    named[pending[0]] = value
                else:
                    positional.append(value)
        for key, value in list(named.items()):
            if value == '__pending__':
                fail("Missing an argument for parameter '{0}'. Specify a parameter of type 'System.Object' and try "
                     "again.".format(key), 'InvalidArgument', 'System.Management.Automation.ParameterBindingException')
        extra = []
        for pname, ptype, default in params:
            if pname in named:
                value = named[pname]
            elif positional:
                value = positional.pop(0)
            elif default is not None:
                value = self.value(default, child)
            else:
                value = None if ptype != 'switch' else False
            child.vars[pname] = dotnet.cast(ptype, value) if ptype else value
        extra = positional
        child.vars['args'] = extra
        if piped is not None:
            child.vars['input'] = list(piped)
        if dollar_underscore is not None:
            child.vars['_'] = dollar_underscore
        out = []
        statements = self.body_of(body)
        try:
            if statements is not None:
                self.block(statements, child, out)
        except ReturnFlow:
            pass
        return [v for value in out for v in (enumerate_value(value) if isinstance(value, list) else [value])]

    def body_of(self, node):
        if node.type in ('script_block', 'script_block_expression'):
            for c in node.children:
                if c.type == 'script_block':
                    return self.body_of(c)
                if c.type == 'script_block_body':
                    return next((x for x in c.children if x.type == 'statement_list'), None)
                if c.type == 'statement_list':
                    return c
            return None
        return node

    def params_of(self, node):
        """[(name, type or 'switch' or None, default node)] of a script block's param() block."""
        block = next((c for c in node.children if c.type == 'param_block'), None)
        if block is None and node.type == 'script_block_expression':
            inner = next((c for c in node.children if c.type == 'script_block'), None)
            block = next((c for c in inner.children if c.type == 'param_block'), None) if inner else None
        if block is None:
            return []
        found = []
        plist = next((c for c in block.children if c.type == 'parameter_list'), None)
        for p in (plist.children if plist is not None else []):
            if p.type != 'script_parameter':
                continue
            var = next(c for c in p.children if c.type == 'variable')
            ptype = None
            attrs = next((c for c in p.children if c.type == 'attribute_list'), None)
            if attrs is not None:
                for attr in attrs.children:
                    text = self.text(attr).strip()
                    if text.startswith('[') and '(' not in text:
                        ptype = text[1:-1].strip().lower()
            default = None
            dflt = next((c for c in p.children if c.type == 'script_parameter_default'), None)
            if dflt is not None:
                default = next(c for c in dflt.children if c.type not in ('=',) and c.type not in SKIP)
            found.append((self.var_name(var), ptype, default))
        return found

    # ------------------------------------------------------------------ expressions
    def value(self, node, scope):
        node = self.collapse(node)
        kind = node.type
        if kind in PASS:
            parts = self.kids(node)
            if kind == 'expression_with_unary_operator':
                return self.unary(parts, scope)
            if kind == 'pipeline_chain':
                return unwrap(self.chain(node, scope))
            if kind == 'array_literal_expression':
                return [self.value(p, scope) for p in parts if p.type != ',']
            return self.binary_node(parts, scope)
        if kind == 'pipeline':
            return unwrap(self.pipeline(node, scope))
        if kind == 'variable':
            return self.variable(node, scope)
        if kind == 'integer_literal':
            text = self.text(node).lower()
            mult = {'kb': 1024, 'mb': 1024 ** 2, 'gb': 1024 ** 3}
            for suffix, factor in mult.items():
                if text.endswith(suffix):
                    return int(text[:-2]) * factor
            return int(text, 16) if text.startswith('0x') else int(text.rstrip('l'))
        if kind == 'real_literal':
            return float(self.text(node))
        if kind == 'string_literal':
            return self.string(node, scope)
        if kind == 'hash_literal_expression':
            return self.hashtable(node, scope)
        if kind == 'array_expression':
            body = next((c for c in node.children if c.type == 'statement_list'), None)
            out = []
            if body is not None:
                self.block(body, scope, out)
            # @(...): every value the statements wrote, arrays unrolled; a $null written by an expression is an
            # element (docs-conceptual/learn/deep-dives/everything-about-null.md: @($null).Count is 1)
            return [v for value in out for v in (value if isinstance(value, (list, tuple)) else [value])]
        if kind == 'sub_expression':
            body = next((c for c in node.children if c.type == 'statement_list'), None)
            out = []
            if body is not None:
                self.block(body, scope, out)
            return unwrap(out)
        if kind == 'parenthesized_expression':
            inner = next(c for c in node.children if c.type not in ('(', ')'))
            return unwrap(self.pipeline(inner, scope))
        if kind == 'script_block_expression':
            return ScriptBlock(node, self, self.text(node))
        if kind == 'member_access':
            return self.member(node, scope)
        if kind == 'invokation_expression':
            return self.invoke_method(node, scope)
        if kind == 'element_access':
            obj = self.value(node.children[0], scope)
            index = self.value(node.children[2], scope)
            return dotnet.index(obj, index)
        if kind == 'cast_expression':
            type_node = node.children[0]
            operand = self.value(node.children[-1], scope)
            return dotnet.cast(self.type_name(type_node), operand)
        if kind == 'type_literal':
            return TypeRef(self.type_name(node))
        if kind == 'post_increment_expression' or kind == 'post_decrement_expression':
            target = node.children[0]
            current = self.value(target, scope)
            self.store(target, to_number(current) + (1 if kind == 'post_increment_expression' else -1), scope)
            return current
        if kind == 'command':
            return unwrap(self.command(node, scope, None))
        if kind == 'generic_token':
            return self.text(node)
        if kind == 'assignment_expression':
            self.assign(node, scope)
            return None
        fail('storedesk fake desktop: expression {0} is not modelled: {1}'.format(kind, self.text(node)[:60]),
             'NotImplemented')

    def type_name(self, node):
        text = self.text(node).strip()
        return text[1:-1].strip() if text.startswith('[') else text

    def variable(self, node, scope):
        name = self.var_name(node)
        if name in ('true', 'false'):
            return name == 'true'
        if name == 'null':
            return None
        if name.startswith('env:'):
            return self.host.env.get(name[4:].lower())
        if name == 'lastexitcode':
            return self.host.last_exit_code
        if name == 'pid':
            return self.host.pid
        if name == 'executioncontext':
            return self.host.execution_context()
        return self.value_of_var(name, scope)

    def value_of_var(self, name, scope):
        try:
            return scope.lookup(name)
        except KeyError:
            if name == 'erroractionpreference':
                return 'Continue'
            return None

    def string(self, node, scope):
        child = node.children[0] if node.children else node
        text = self.text(child)
        if child.type in ('verbatim_string_characters', 'verbatim_here_string_characters'):
            if text.startswith("@'"):
                return text[3:-3]
            return text[1:-1].replace("''", "'")
        if child.type in ('expandable_string_literal', 'expandable_here_string_literal'):
            return self.expand(child, scope)
        fail('storedesk fake desktop: string form {0} not modelled'.format(child.type), 'NotImplemented')

    def expand(self, node, scope):
        """An expandable string: $var, $env:X, $(...) substituted, backtick escapes (about_Quoting_Rules)."""
        raw = self.src[node.start_byte:node.end_byte]
        here = raw.startswith(b'@"')
        start, end = (node.start_byte + 3, node.end_byte - 3) if here else (node.start_byte + 1, node.end_byte - 1)
        pieces, pos = [], start
        for child in node.children:
            if child.type not in ('variable', 'sub_expression'):
                continue
            pieces.append(self._unescape(self.src[pos:child.start_byte].decode('utf-8')))
            value = self.variable(child, scope) if child.type == 'variable' else self.value(child, scope)
            pieces.append(to_str(value))
            pos = child.end_byte
        pieces.append(self._unescape(self.src[pos:end].decode('utf-8')))
        return ''.join(pieces)

    @staticmethod
    def _unescape(text):
        escapes = {'n': '\n', 'r': '\r', 't': '\t', '0': '\0', 'a': '\a', 'b': '\b', 'e': '\x1b', 'f': '\f',
                   'v': '\v'}
        out, i = [], 0
        while i < len(text):
            ch = text[i]
            if ch == '`' and i + 1 < len(text):
                out.append(escapes.get(text[i + 1], text[i + 1]))
                i += 2
                continue
            if ch == '"' and text[i + 1:i + 2] == '"':
                out.append('"')
                i += 2
                continue
            out.append(ch)
            i += 1
        return ''.join(out)

    def hashtable(self, node, scope):
        result = PSHash()
        body = next((c for c in node.children if c.type == 'hash_literal_body'), None)
        for entry in (body.children if body is not None else []):
            if entry.type != 'hash_entry':
                continue
            key_node = next(c for c in entry.children if c.type == 'key_expression')
            key_child = key_node.children[0]
            key = self.text(key_child) if key_child.type == 'simple_name' else self.value(key_child, scope)
            val_node = [c for c in entry.children if c.type not in ('key_expression', '=', ';') + tuple(SKIP)][-1]
            result[key] = self.assigned_value(val_node, scope)
        return result

    def member_name(self, node, scope):
        if node.type == 'member_name':
            child = node.children[0]
            if child.type == 'simple_name':
                return self.text(child)
            return to_str(self.value(child, scope))
        return to_str(self.value(node, scope))

    def member(self, node, scope):
        obj = self.value(node.children[0], scope)
        static = any(c.type == '::' for c in node.children)
        name = self.member_name(node.children[-1], scope)
        if static:
            return dotnet.static_member(self.host, obj.name if isinstance(obj, TypeRef) else to_str(obj), name)
        return dotnet.get_member(obj, name)

    def invoke_method(self, node, scope):
        target = node.children[0]
        static = any(c.type == '::' for c in node.children)
        name = self.member_name(next(c for c in node.children if c.type == 'member_name'), scope)
        arglist = next((c for c in node.children if c.type == 'argument_list'), None)
        args = []
        if arglist is not None:
            exprs = next((c for c in arglist.children if c.type == 'argument_expression_list'), None)
            for c in (exprs.children if exprs is not None else []):
                if c.type == 'argument_expression':
                    args.append(self.value(c, scope))
        obj = self.value(target, scope)
        if static:
            return dotnet.call_static(self.host, obj.name if isinstance(obj, TypeRef) else to_str(obj), name, args)
        if isinstance(obj, ScriptBlock) and name.lower() == 'invoke':
            return unwrap(self.call_block(obj, [['arg', None, a, True] for a in args], scope, None))
        return dotnet.call_method(self.host, obj, name, args)


__all__ = ['Interpreter', 'Scope', 'PSObj']
