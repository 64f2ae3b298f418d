"""Label and field selectors as the API server parses and applies them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from rhev_testbed.kubeapi.errors import ApiError, bad_request

Matcher = Callable[[Mapping[str, Any]], bool]

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"[-A-Za-z0-9_.]*"
_SET_RE = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQ_RE = re.compile(rf"^\s*({_KEY})\s*(==|=|!=)\s*({_VALUE})\s*$")
_CMP_RE = re.compile(rf"^\s*({_KEY})\s*(<|>)\s*(-?[0-9]+)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas outside of `in (...)` parentheses."""
    terms: list[str] = []
    depth = 0
    current = ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _label_term(term: str) -> Callable[[Mapping[str, str]], bool]:
    if m := _SET_RE.match(term):
        key, op, raw = m.group(1), m.group(2), m.group(3)
        values = {v.strip() for v in raw.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _EQ_RE.match(term):
        key, op, value = m.group(1), m.group(2), m.group(3)
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _CMP_RE.match(term):
        key, op, number = m.group(1), m.group(2), int(m.group(3))

        def compare(labels: Mapping[str, str]) -> bool:
            try:
                actual = int(labels[key])
            except (KeyError, ValueError):
                return False
            return actual > number if op == ">" else actual < number

        return compare
    if m := _EXISTS_RE.match(term):
        negated, key = m.group(1) == "!", m.group(2)
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise bad_request(f"unable to parse requirement: {term.strip()!r}: invalid label selector")


def label_selector(selector: str | None) -> Matcher | None:
    """A matcher for `labelSelector` (=, ==, !=, exists, !key, in, notin, <, >), or None."""
    if not selector or not selector.strip():
        return None
    terms = [_label_term(t) for t in _split_terms(selector)]

    def match(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(term(labels) for term in terms)

    return match


def field_value(obj: Mapping[str, Any], path: str) -> str | None:
    """A dotted field path's value as a string (fields selectors compare strings)."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    if current is None or isinstance(current, dict | list):
        return None
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def field_selector(selector: str | None) -> Matcher | None:
    """A matcher for `fieldSelector`: metadata.name, metadata.namespace and dotted paths."""
    if not selector or not selector.strip():
        return None
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(selector):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not m:
            raise ApiError(
                400, "BadRequest", f"invalid field selector: {term.strip()!r}: expected field=value"
            )
        terms.append((m.group(1), m.group(2) == "!=", m.group(3)))

    def match(obj: Mapping[str, Any]) -> bool:
        for path, negated, value in terms:
            actual = field_value(obj, path)
            if path == "metadata.namespace" and actual is None:
                actual = ""
            if (actual == value) == negated:
                return False
        return True

    return match


def exact_field(selector: str | None, path: str) -> str | None:
    """The value of `path=value` in a field selector, to narrow a lookup (e.g. metadata.name)."""
    if not selector:
        return None
    for term in _split_terms(selector):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=)\s*(.*?)\s*$", term)
        if m and m.group(1) == path:
            return m.group(3)
    return None
