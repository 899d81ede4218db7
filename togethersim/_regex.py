"""Strings that match a regular expression, for ``response_format: {"type": "regex"}``.

Generating a match for an arbitrary regex is hard (lookarounds and backreferences make it
a search problem), so :func:`sample_match` handles the subset that constrained outputs use
in practice and answers ``None`` for anything else; the caller then falls back to ordinary
words. The supported subset:

* literal characters and escaped ones (``\\.``, ``\\(``, ``\\n`` ...) and ``.``;
* the classes ``\\d \\w \\s`` and ``\\D \\W \\S``, and sets ``[...]`` with ranges and
  negation (``[a-z0-9_]``, ``[^,]``);
* groups ``(...)``, ``(?:...)``, ``(?P<name>...)`` and alternation ``|``;
* quantifiers ``?``, ``*``, ``+``, ``{m}``, ``{m,}``, ``{,n}``, ``{m,n}`` (a lazy or
  possessive suffix is ignored);
* ``^`` and ``$`` (they match the ends; nothing is generated for them).

Lookarounds, backreferences, inline flags, ``\\b`` and the like raise the internal
``_Unsupported``, which makes :func:`sample_match` return ``None``. Whatever is generated is
checked with :func:`re.fullmatch` before it is returned, so a pattern whose meaning this
parser gets wrong costs a fallback, never a string that breaks the constraint.

**Choices** are deterministic from the ``seed`` string: a counter-mode sha256 stream
(:class:`Draws`) picks the alternation branch, the member of a class (letters first for
``.`` and ``\\w``, so answers look like words) and each quantifier's count, uniformly
between its minimum and ``min(maximum, minimum + 3)``.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass

__all__ = ["Draws", "sample_match"]

_LETTERS = string.ascii_lowercase
_WORD = string.ascii_lowercase + string.ascii_uppercase + string.digits + "_"
_PRINTABLE = [chr(c) for c in range(32, 127)]
_MAX_REPEAT_EXTRA = 3  # a quantifier repeats at most this many times beyond its minimum
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}
_CLASSES = {
    "d": list(string.digits),
    "w": list(_WORD),
    "s": [" "],
    "D": [c for c in _PRINTABLE if not c.isdigit()],
    "W": [c for c in _PRINTABLE if c not in _WORD],
    "S": [c for c in _PRINTABLE if c != " "],
}


class Draws:
    """A deterministic stream of choices: ``pick(n)`` is sha256(seed, counter) mod n."""

    __slots__ = ("_seed", "_counter")

    def __init__(self, seed: str) -> None:
        self._seed = seed.encode("utf-8")
        self._counter = 0  # draws made so far; each draw hashes a fresh counter value

    def pick(self, n: int) -> int:
        """An integer in ``[0, n)`` (0 when ``n <= 1``)."""
        if n <= 1:
            return 0
        self._counter += 1
        digest = hashlib.sha256(self._seed + b"\x1f" + str(self._counter).encode()).digest()
        return int.from_bytes(digest[:8], "big") % n

    def unit(self) -> float:
        """A float in ``[0, 1)``."""
        return self.pick(2**53) / 2**53

    def __repr__(self) -> str:
        return f"Draws(seed={self._seed!r}, draws={self._counter})"


class _Unsupported(Exception):
    """The pattern uses a construct outside the supported subset."""


@dataclass(frozen=True, slots=True)
class _Chars:  # one character out of these
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Seq:  # these, one after another
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Alt:  # one of these
    branches: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Repeat:  # node repeated between low and high times (high None: unbounded)
    node: _Node
    low: int
    high: int | None


_Node = _Chars | _Seq | _Alt | _Repeat


class _Parser:
    """Recursive descent over the supported subset; ``pos`` indexes into ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> _Node:
        node = self._alternation()
        if self.pos != len(self.text):
            raise _Unsupported(f"unexpected {self.text[self.pos]!r}")
        return node

    def _peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def _alternation(self) -> _Node:
        branches = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            branches.append(self._sequence())
        return branches[0] if len(branches) == 1 else _Alt(tuple(branches))

    def _sequence(self) -> _Node:
        items: list[_Node] = []
        while (c := self._peek()) is not None and c not in "|)":
            if c in "^$":
                self.pos += 1
                continue
            atom = self._atom()
            items.append(self._quantified(atom))
        return items[0] if len(items) == 1 else _Seq(tuple(items))

    def _atom(self) -> _Node:
        c = self.text[self.pos]
        self.pos += 1
        if c == "(":
            if self.text.startswith("?:", self.pos):
                self.pos += 2
            elif self.text.startswith("?P<", self.pos):
                end = self.text.find(">", self.pos)
                if end < 0:
                    raise _Unsupported("unterminated group name")
                self.pos = end + 1
            elif self._peek() == "?":
                raise _Unsupported("lookaround or inline flag")
            node = self._alternation()
            if self._peek() != ")":
                raise _Unsupported("unbalanced parenthesis")
            self.pos += 1
            return node
        if c == "[":
            return self._set()
        if c == ".":
            return _Chars(tuple(_LETTERS))
        if c == "\\":
            return _Chars(tuple(self._escape()))
        if c in "*+?{":
            if c == "{" and not self._looks_like_count():
                return _Chars(("{",))
            raise _Unsupported("quantifier without an atom")
        return _Chars((c,))

    def _escape(self) -> list[str]:
        c = self._peek()
        if c is None:
            raise _Unsupported("trailing backslash")
        self.pos += 1
        if c in _CLASSES:
            return _CLASSES[c]
        if c in _ESCAPES:
            return [_ESCAPES[c]]
        if c.isalnum():  # \b, \B, \A, \Z, \1, \p ...: outside the subset
            raise _Unsupported(f"escape \\{c}")
        return [c]

    def _set(self) -> _Node:
        negated = self._peek() == "^"
        if negated:
            self.pos += 1
        members: list[str] = []
        first = True
        while True:
            c = self._peek()
            if c is None:
                raise _Unsupported("unterminated set")
            if c == "]" and not first:
                self.pos += 1
                break
            first = False
            self.pos += 1
            if c == "\\":
                chars = self._escape()
            else:
                chars = [c]
            if (
                len(chars) == 1
                and self._peek() == "-"
                and self.pos + 1 < len(self.text)
                and self.text[self.pos + 1] != "]"
            ):
                self.pos += 1
                end_char = self.text[self.pos]
                self.pos += 1
                if end_char == "\\":
                    end = self._escape()
                    if len(end) != 1:
                        raise _Unsupported("class as a range end")
                    end_char = end[0]
                if ord(end_char) < ord(chars[0]):
                    raise _Unsupported("reversed range")
                chars = [chr(x) for x in range(ord(chars[0]), min(ord(end_char), 0x2FF) + 1)]
            members.extend(chars)
        if negated:
            excluded = set(members)
            members = [c for c in _PRINTABLE if c not in excluded]
        if not members:
            raise _Unsupported("empty set")
        # Letters first, so a draw from a broad class reads like a word.
        ordered = sorted(dict.fromkeys(members), key=lambda ch: (not ch.isalpha(), ch))
        return _Chars(tuple(ordered))

    def _looks_like_count(self) -> bool:
        return re.match(r"\d*(,\d*)?\}", self.text[self.pos :]) is not None

    def _quantified(self, atom: _Node) -> _Node:
        c = self._peek()
        if c is None:
            return atom
        low: int
        high: int | None
        if c == "?":
            low, high = 0, 1
        elif c == "*":
            low, high = 0, None
        elif c == "+":
            low, high = 1, None
        elif c == "{" and (m := re.match(r"\{(\d*)(,?)(\d*)\}", self.text[self.pos :])):
            if not m.group(1) and not m.group(3):
                return atom  # "{}" or "{,}" is a literal in Python; keep it simple
            low = int(m.group(1) or 0)
            high = low if not m.group(2) else (int(m.group(3)) if m.group(3) else None)
            self.pos += m.end() - 1
        else:
            return atom
        self.pos += 1
        if self._peek() in ("?", "+"):  # lazy or possessive: same strings
            self.pos += 1
        if self._peek() in ("?", "*", "+"):
            raise _Unsupported("stacked quantifiers")
        return _Repeat(atom, low, high)


def _generate(node: _Node, draws: Draws, out: list[str]) -> None:
    if isinstance(node, _Chars):
        options = node.options
        # Prefer the first few options (letters for broad classes) to keep strings readable.
        out.append(options[draws.pick(min(len(options), 26))])
    elif isinstance(node, _Seq):
        for item in node.items:
            _generate(item, draws, out)
    elif isinstance(node, _Alt):
        _generate(node.branches[draws.pick(len(node.branches))], draws, out)
    else:
        most = node.low + _MAX_REPEAT_EXTRA
        if node.high is not None:
            most = min(most, node.high)
        for _ in range(node.low + draws.pick(most - node.low + 1)):
            _generate(node.node, draws, out)


def sample_match(pattern: str, seed: str) -> str | None:
    """A string that ``re.fullmatch(pattern, ...)`` accepts, or None outside the subset."""
    try:
        compiled = re.compile(pattern)
        tree = _Parser(pattern).parse()
    except (re.error, _Unsupported, RecursionError):
        return None
    out: list[str] = []
    _generate(tree, Draws(seed), out)
    text = "".join(out)
    return text if compiled.fullmatch(text) else None
