"""The JSONPath subset used by CRD additionalPrinterColumns (kubectl's dialect).

Supported: `.field`, `['field']`, escaped dots (`.labels.app\\.kubernetes\\.io/name`), `[N]`,
`[*]`, `[a:b]`, `..field` (recursive) and filters `[?(@.a.b=="v")]` with ==, !=, <, >, <=, >=
or a bare existence test `[?(@.a)]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

Step = Callable[[Any], Iterator[Any]]


class JsonPathError(ValueError):
    pass


def _child(name: str) -> Step:
    def step(node: Any) -> Iterator[Any]:
        if isinstance(node, dict) and name in node:
            yield node[name]

    return step


def _recursive(name: str) -> Step:
    def walk(node: Any) -> Iterator[Any]:
        if isinstance(node, dict):
            if name in node:
                yield node[name]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return walk


def _wildcard(node: Any) -> Iterator[Any]:
    if isinstance(node, list):
        yield from node
    elif isinstance(node, dict):
        yield from node.values()


def _index(index: int) -> Step:
    def step(node: Any) -> Iterator[Any]:
        if isinstance(node, list) and -len(node) <= index < len(node):
            yield node[index]

    return step


def _slice(start: int | None, stop: int | None) -> Step:
    def step(node: Any) -> Iterator[Any]:
        if isinstance(node, list):
            yield from node[start:stop]

    return step


_FILTER_RE = re.compile(
    r"""^@((?:\.[A-Za-z0-9_\-/]+)+)\s*(?:(==|!=|<=|>=|<|>)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?[0-9.]+|true|false))?$"""
)


def _literal(text: str) -> Any:
    if text[0] in "\"'":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    return float(text) if "." in text else int(text)


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(right, str) or isinstance(left, str):
        left, right = str(left) if not isinstance(left, bool) else str(left).lower(), str(right)
    try:
        return bool(
            {
                "==": left == right,
                "!=": left != right,
                "<": left < right,
                ">": left > right,
                "<=": left <= right,
                ">=": left >= right,
            }[op]
        )
    except TypeError:
        return False


def _filter(expression: str) -> Step:
    m = _FILTER_RE.match(expression.strip())
    if not m:
        raise JsonPathError(f"unsupported filter expression: {expression!r}")
    fields = m.group(1).strip(".").split(".")
    op, literal = m.group(2), m.group(3)
    right = _literal(literal) if literal is not None else None

    def step(node: Any) -> Iterator[Any]:
        items = (
            node
            if isinstance(node, list)
            else list(node.values())
            if isinstance(node, dict)
            else []
        )
        for item in items:
            value: Any = item
            for field in fields:
                value = value.get(field) if isinstance(value, dict) else None
            if op is None:
                if value is not None:
                    yield item
            elif value is not None and _compare(value, op, right):
                yield item

    return step


def compile_path(path: str) -> list[Step]:
    """Compile a JSONPath like `.status.conditions[?(@.type=="Ready")].status` into steps."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[Step] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == ".":
            recursive = text.startswith("..", i)
            i += 2 if recursive else 1
            name = ""
            while i < len(text) and text[i] not in ".[":
                if text[i] == "\\" and i + 1 < len(text):
                    name += text[i + 1]
                    i += 2
                    continue
                name += text[i]
                i += 1
            if name == "*":
                steps.append(_wildcard)
            elif name:
                steps.append(_recursive(name) if recursive else _child(name))
        elif char == "[":
            end = _closing_bracket(text, i)
            inner = text[i + 1 : end].strip()
            i = end + 1
            if inner == "*":
                steps.append(_wildcard)
            elif inner.startswith("?(") and inner.endswith(")"):
                steps.append(_filter(inner[2:-1]))
            elif inner[:1] in "\"'":
                steps.append(_child(inner[1:-1]))
            elif ":" in inner:
                a, _, b = inner.partition(":")
                steps.append(_slice(int(a) if a.strip() else None, int(b) if b.strip() else None))
            else:
                try:
                    steps.append(_index(int(inner)))
                except ValueError:
                    raise JsonPathError(f"unsupported subscript: [{inner}]") from None
        else:
            raise JsonPathError(f"unexpected {char!r} at {i} in {path!r}")
    return steps


def _closing_bracket(text: str, start: int) -> int:
    depth = 0
    quote: str | None = None
    for j in range(start, len(text)):
        char = text[j]
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return j
    raise JsonPathError(f"unclosed [ in {text!r}")


def find(steps: list[Step], obj: Any) -> list[Any]:
    nodes: list[Any] = [obj]
    for step in steps:
        nodes = [result for node in nodes for result in step(node)]
    return nodes
