"""PowerShell's operators for the interpreter (a mixin of psinterp.Interpreter).

As Windows PowerShell 5.1 documents them (MicrosoftDocs/PowerShell-Docs reference/5.1/Microsoft.PowerShell.Core/
About/): about_Comparison_Operators (case-insensitive by default; a collection on the left filters; -match sets
$Matches), about_Logical_Operators (-and/-or short-circuit), about_Arithmetic_Operators (the left operand's type
decides: string concatenation, array append, hashtable merge), about_Split, about_Join, about_Operators (-f).
"""

from __future__ import annotations

import re

from .psvalues import (PSHash, compare, dotnet_regex, enumerate_value, fail, ps_equal, to_bool, to_int, to_number,
                       to_str, wildcard)


class Operators(object):
    def unary(self, parts, scope):
        op = self.text(parts[0]).lower()
        if parts[0].type == 'cast_expression' or op.startswith('['):
            return self.value(parts[0], scope)
        operand = self.value(parts[-1], scope)
        if op in ('-not', '!'):
            return not to_bool(operand)
        if op == '-':
            return -to_number(operand)
        if op == '+':
            return to_number(operand)
        if op == ',':
            return [operand]
        if op == '-join':
            return ''.join(to_str(v) for v in enumerate_value(operand))
        if op == '-split':
            return re.split(r'\s+', to_str(operand).strip())
        fail('storedesk fake desktop: unary operator {0} not modelled'.format(op), 'NotImplemented')

    def binary_node(self, parts, scope):
        left = self.value(parts[0], scope)
        i = 1
        while i < len(parts):
            op = self.text(parts[i]).lower()
            if op in ('-and', '-or'):
                if op == '-and' and not to_bool(left):
                    left = False
                elif op == '-or' and to_bool(left):
                    left = True
                else:
                    left = to_bool(self.value(parts[i + 1], scope))
                i += 2
                continue
            right = self.value(parts[i + 1], scope)
            left = self.binary(op, left, right, scope)
            i += 2
        return left

    def binary(self, op, left, right, scope=None):
        if op in ('-eq', '-ieq', '-ne', '-ine', '-gt', '-lt', '-ge', '-le', '-like', '-notlike', '-match',
                  '-notmatch'):
            if isinstance(left, (list, tuple)):
                return [v for v in left if self.scalar_compare(op, v, right, None)]
            return self.scalar_compare(op, left, right, scope)
        if op in ('-contains', '-notcontains'):
            found = any(ps_equal(v, right) for v in enumerate_value(left) or [left])
            return found if op == '-contains' else not found
        if op in ('-in', '-notin'):
            found = any(ps_equal(v, left) for v in enumerate_value(right))
            return found if op == '-in' else not found
        if op == '+':
            if isinstance(left, (list, tuple)):
                return list(left) + (list(right) if isinstance(right, (list, tuple)) else [right])
            if isinstance(left, str):
                return left + to_str(right)
            if isinstance(left, PSHash):
                merged = PSHash(dict(left.items()))
                for k, v in right.items():
                    if k in merged:
                        fail("Item has already been added. Key in dictionary: '{0}'".format(k), 'InvalidOperation')
                    merged[k] = v
                return merged
            if left is None:
                return right
            return to_number(left) + to_number(right)
        if op == '-':
            return to_number(left) - to_number(right)
        if op == '*':
            if isinstance(left, str):
                return left * to_int(right)
            return to_number(left) * to_number(right)
        if op == '/':
            l, r = to_number(left), to_number(right)
            if r == 0:
                fail('Attempted to divide by zero.', 'NotSpecified', 'System.DivideByZeroException')
            q = l / r
            return int(q) if q == int(q) else q
        if op == '%':
            return to_number(left) % to_number(right)
        if op == '-join':
            return to_str(right).join(to_str(v) for v in enumerate_value(left))
        if op in ('-split', '-isplit', '-csplit'):
            flags = 0 if op == '-csplit' else re.I
            return re.split(re.sub(r'\(\?<([A-Za-z_]\w*)>', r'(?P<\1>', to_str(right)), to_str(left), flags=flags)
        if op in ('-replace', '-ireplace'):
            pattern, repl = (right[0], right[1]) if isinstance(right, list) else (right, '')
            repl = re.sub(r'\$(\d+)', r'\\\1', to_str(repl))
            return [dotnet_regex(to_str(pattern)).sub(repl, to_str(v)) for v in left] if isinstance(left, list) \
                else dotnet_regex(to_str(pattern)).sub(repl, to_str(left))
        if op == '-f':
            args = enumerate_value(right)
            return re.sub(r'\{(\d+)(?::[^}]*)?\}', lambda m: to_str(args[int(m.group(1))]), to_str(left))
        if op == '-band':
            return to_int(left) & to_int(right)
        if op == '-bor':
            return to_int(left) | to_int(right)
        fail('storedesk fake desktop: operator {0} not modelled'.format(op), 'NotImplemented')

    def scalar_compare(self, op, left, right, scope):
        if op in ('-eq', '-ieq'):
            return ps_equal(left, right)
        if op in ('-ne', '-ine'):
            return not ps_equal(left, right)
        if op in ('-gt', '-lt', '-ge', '-le'):
            c = compare(left, right)
            return {'-gt': c > 0, '-lt': c < 0, '-ge': c >= 0, '-le': c <= 0}[op]
        if op in ('-like', '-notlike'):
            hit = bool(wildcard(to_str(right)).match(to_str(left)))
            return hit if op == '-like' else not hit
        found = dotnet_regex(to_str(right)).search(to_str(left))
        if scope is not None and found is not None:
            matches = PSHash()
            matches[0] = found.group(0)
            for i, g in enumerate(found.groups(), 1):
                if g is not None:
                    matches[i] = g
            for k, g in found.groupdict().items():
                if g is not None:
                    matches[k] = g
            scope.vars['matches'] = matches
        return (found is not None) if op == '-match' else (found is None)
