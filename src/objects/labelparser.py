"""The ``kubectl -l`` selector grammar: apimachinery's ``labels.Parse``, token for token.

"app=web,tier!=db,env in (prod,staging),!canary,key,n>3": ``=``/``==``/``!=``, ``in``/``notin`` with a
parenthesised list (``()`` is the set {""}), ``key`` (exists), ``!key`` (does not exist), ``>``/``<``
(integers). Whitespace is space, tab, CR and LF only; ``in`` and ``notin`` are ordinary words where a key or
value is expected ("notin=in").
"""
from __future__ import annotations

from .errors import FieldError, ValidationError
from .labels import DOES_NOT_EXIST, EXISTS, GT, IN, LT, NODE_SELECTOR_OPERATORS, NOT_IN, Requirement
from .labelsyntax import check_label_key


def parse_requirements(text: str, path: str = "labelSelector") -> list[Requirement]:
    """The requirements of a selector string, in the order written; ValidationError naming the text."""
    return _Parser(text, path).parse()


_SPECIAL = "=!(),<>"
_OPERATOR_WORDS = {"=": "=", "==": "==", "!=": "!=", "in": "in", "notin": "notin", ">": ">", "<": "<"}


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, literal) tokens: kind is "id", "end" or the symbol itself."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":  # labels.Parse's isWhitespace, not Unicode spaces
            i += 1
        elif c in _SPECIAL:
            two = text[i:i + 2]
            if two in ("==", "!="):
                out.append((two, two))
                i += 2
            else:
                out.append((c, c))
                i += 1
        else:
            j = i
            while j < n and text[j] not in " \t\r\n" and text[j] not in _SPECIAL:
                j += 1
            out.append(("id", text[i:j]))
            i = j
    out.append(("end", ""))
    return out


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.toks = _tokens(text)
        self.pos = 0

    def fail(self, message: str) -> ValidationError:
        return ValidationError(FieldError(self.path, f"unable to parse requirement: {message}", self.text))

    def peek(self) -> tuple[str, str]:
        return self.toks[self.pos]

    def take(self) -> tuple[str, str]:
        tok = self.toks[self.pos]
        if tok[0] != "end":
            self.pos += 1
        return tok

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self.peek()
            if kind == "end":
                return reqs
            if kind not in ("id", "!"):
                raise self.fail(f"found '{lit}', expected: !, identifier, or 'end of string'")
            reqs.append(self.requirement())
            kind, lit = self.take()
            if kind == "end":
                return reqs
            if kind != ",":
                raise self.fail(f"found '{lit}', expected: ',' or 'end of string'")
            if self.peek()[0] not in ("id", "!"):
                raise self.fail(f"found '{self.peek()[1]}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        negated = self.peek()[0] == "!"
        if negated:
            self.take()
        kind, key = self.take()
        if kind != "id":  # "in" and "notin" are plain keys here, as in labels.Parse ("notin=in")
            raise self.fail(f"found '{key}', expected: identifier")
        self.check(check_label_key(key, self.path))
        if self.peek()[0] in ("end", ","):
            return self.make(key, DOES_NOT_EXIST if negated else EXISTS, [], "")
        if negated:
            raise self.fail(f"found '{self.peek()[1]}', expected: ',' or 'end of string'")
        kind, lit = self.take()
        symbol = _OPERATOR_WORDS.get(lit) if kind in ("id", "=", "==", "!=", ">", "<") else None
        if symbol is None:
            raise self.fail(f"found '{lit}', expected: in, notin, =, ==, !=, gt, lt")
        if symbol in ("in", "notin"):
            return self.make(key, IN if symbol == "in" else NOT_IN, self.value_set(), "")
        value = self.exact_value()
        if symbol in (">", "<"):
            return self.make(key, GT if symbol == ">" else LT, [value], "")
        return self.make(key, NOT_IN if symbol == "!=" else IN, [value], symbol)

    def exact_value(self) -> str:
        kind, lit = self.peek()
        if kind in ("end", ","):
            return ""
        self.take()
        if kind == "id":
            return lit
        raise self.fail(f"found '{lit}', expected: identifier")

    def value_set(self) -> list[str]:
        kind, lit = self.take()
        if kind != "(":
            raise self.fail(f"found '{lit}', expected: '('")
        values: list[str] = []
        kind, lit = self.peek()
        if kind == ")":
            self.take()
            return [""]
        while True:
            kind, lit = self.take()
            if kind == "id":
                values.append(lit)
                if self.peek()[0] == ",":
                    self.take()
                    if self.peek()[0] == ")":
                        values.append("")
                    elif self.peek()[0] == ",":
                        values.append("")
                    continue
                if self.peek()[0] == ")":
                    self.take()
                    return values
                raise self.fail(f"found '{self.peek()[1]}', expected: ',' or ')'")
            if kind == ",":
                values.append("")
                if self.peek()[0] == ")":
                    self.take()
                    return values
                continue
            if kind == ")" and values:
                return values
            raise self.fail(f"found '{lit}', expected: ',', or identifier")

    def check(self, errors: list[FieldError]) -> None:
        if errors:
            raise ValidationError(errors)

    def make(self, key: str, op: str, values: list[str], symbol: str) -> Requirement:
        unique = list(dict.fromkeys(values))
        return Requirement(key, op, unique, self.path, NODE_SELECTOR_OPERATORS, symbol)
