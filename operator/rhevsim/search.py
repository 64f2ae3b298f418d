"""The subset of the engine search language the simulator understands.

    name=myvm   name="a b"   name=my*   status=up   cluster=Default   datacenter=DC1
    type=950    severity>normal   correlation_id=abc   key!=value   key<value  key>=value
    a and b or c        (and binds tighter than or, as in the engine)
    sortby name [asc|desc]      page 2

An entity declares the keys it accepts through `Entity.search_fields`; an unknown key is a
400, like the engine's "Invalid search text".
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from rhevsim.errors import failed
from rhevsim.model import SearchValue

SEVERITY_RANK = {"normal": 0, "warning": 1, "error": 2, "alert": 3}

_COND = re.compile(r"^([A-Za-z_][\w.]*)\s*(!=|>=|<=|=|>|<)\s*(.*)$", re.S)

Fields = dict[str, SearchValue]
Predicate = Callable[[Fields], bool]


@dataclass
class Query:
    predicate: Predicate
    keys: set[str]
    sortby: str | None = None
    descending: bool = False
    page: int | None = None


def _invalid(query: str) -> Exception:
    return failed(400, f"Search query [{query}] is invalid.")


def _tokens(query: str) -> list[str]:
    lex = shlex.shlex(query, posix=True, punctuation_chars="=!<>")
    lex.whitespace_split = True
    lex.commenters = ""
    try:
        raw = list(lex)
    except ValueError:
        raise _invalid(query) from None
    # Re-join "key", "op", "value" pieces (shlex splits punctuation apart).
    ops = ("=", "!=", ">", "<", ">=", "<=")
    out: list[str] = []
    i = 0
    while i < len(raw):
        if i + 1 < len(raw) and raw[i + 1] in ops:
            value = raw[i + 2] if i + 2 < len(raw) else ""
            out.append(f"{raw[i]}{raw[i + 1]}{value}")
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out


def _match_value(actual: SearchValue, op: str, wanted: str, key: str, case_sensitive: bool) -> bool:
    if isinstance(actual, tuple):
        hits = [_match_value(a, "=", wanted, key, case_sensitive) for a in actual]
        return any(hits) if op == "=" else not any(hits) if op == "!=" else False
    if actual is None:
        return op == "!=" and wanted != ""
    if key == "severity":
        a, w = SEVERITY_RANK.get(str(actual), -1), SEVERITY_RANK.get(wanted.lower(), -1)
        return _compare(a, op, w)
    if isinstance(actual, bool):
        return _compare(str(actual).lower(), op, wanted.lower())
    if isinstance(actual, int | float):
        try:
            return _compare(float(actual), op, float(wanted))
        except ValueError:
            return False
    a_s = str(actual)
    if not case_sensitive:
        a_s, wanted = a_s.lower(), wanted.lower()
    if op in ("=", "!=") and "*" in wanted:
        pattern = "^" + ".*".join(re.escape(p) for p in wanted.split("*")) + "$"
        hit = re.match(pattern, a_s, re.S) is not None
        return hit if op == "=" else not hit
    return _compare(a_s, op, wanted)


def _compare(a: object, op: str, b: object) -> bool:
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    try:
        if op == ">":
            return bool(a > b)  # type: ignore[operator]
        if op == "<":
            return bool(a < b)  # type: ignore[operator]
        if op == ">=":
            return bool(a >= b)  # type: ignore[operator]
        if op == "<=":
            return bool(a <= b)  # type: ignore[operator]
    except TypeError:
        return False
    return False


def compile_query(query: str, allowed: set[str], case_sensitive: bool = False) -> Query:
    """Parse `query`; `allowed` are the keys the collection supports."""
    toks = _tokens(query)
    sortby: str | None = None
    descending = False
    page: int | None = None
    # Strip a leading "Vms:" style object prefix the UI uses.
    if toks and toks[0].endswith(":") and "=" not in toks[0]:
        toks = toks[1:]
    groups: list[list[tuple[str, str, str]]] = [[]]
    keys: set[str] = set()
    i = 0
    while i < len(toks):
        tok = toks[i]
        low = tok.lower()
        if low == "and":
            i += 1
            continue
        if low == "or":
            groups.append([])
            i += 1
            continue
        if low == "sortby":
            if i + 1 >= len(toks):
                raise _invalid(query)
            sortby = toks[i + 1].lower()
            i += 2
            if i < len(toks) and toks[i].lower() in ("asc", "desc"):
                descending = toks[i].lower() == "desc"
                i += 1
            continue
        if low == "page":
            if i + 1 >= len(toks) or not toks[i + 1].isdigit():
                raise _invalid(query)
            page = int(toks[i + 1])
            i += 2
            continue
        m = _COND.match(tok)
        if m is None:
            # A bare word searches the name, as the engine's free-text search does.
            groups[-1].append(("name", "=", tok))
            keys.add("name")
        else:
            key, op, value = m.group(1).lower(), m.group(2), m.group(3)
            if key not in allowed:
                raise _invalid(query)
            groups[-1].append((key, op, value))
            keys.add(key)
        i += 1
    if sortby is not None and sortby not in allowed:
        raise _invalid(query)
    conj = [g for g in groups if g]

    def predicate(fields: Fields) -> bool:
        if not conj:
            return True
        return any(
            all(_match_value(fields.get(k), op, v, k, case_sensitive) for k, op, v in g)
            for g in conj
        )

    return Query(predicate, keys, sortby, descending, page)
