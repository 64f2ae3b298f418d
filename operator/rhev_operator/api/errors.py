"""The error of a resource that cannot be parsed: `SpecError` names every offending field
path (`spec.disks[1].type`) with a plain message saying what is allowed there, built from
pydantic's ValidationError by `spec_error_from`."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from rhev_operator.api.fieldtypes import FIELD_ERROR, PATTERN_RULES


@dataclass(frozen=True)
class FieldError:
    """One problem: the field path (`spec.disks[1].type`) and what is allowed there."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(ValueError):
    """A resource that cannot be parsed. `str()` names every offending field path.

    `field_path` and `message` are those of the first problem; `errors` holds them all.
    """

    def __init__(self, field_path: str, message: str, others: Sequence[FieldError] = ()) -> None:
        self.errors: list[FieldError] = [FieldError(field_path, message), *others]
        super().__init__("; ".join(str(e) for e in self.errors))

    @property
    def field_path(self) -> str:
        return self.errors[0].path

    @property
    def message(self) -> str:
        return self.errors[0].message

    @property
    def field_paths(self) -> list[str]:
        return [e.path for e in self.errors]

    @classmethod
    def from_errors(cls, errors: Sequence[FieldError]) -> SpecError:
        if not errors:
            raise ValueError("SpecError needs at least one FieldError")
        return cls(errors[0].path, errors[0].message, errors[1:])


def format_path(loc: Iterable[str | int]) -> str:
    """('spec', 'disks', 1, 'type') -> 'spec.disks[1].type'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part:
            # A subpath from `field_error` may itself hold dots and brackets.
            out += part if part.startswith("[") or not out else f".{part}"
    return out


def spec_error_from(exc: ValidationError, model: type[BaseModel]) -> SpecError:
    """A pydantic ValidationError as a SpecError with field paths and plain messages."""
    errors = [_field_error(error, model) for error in exc.errors(include_url=False)]
    # One message per field path, in the order pydantic found them.
    seen: set[str] = set()
    unique: list[FieldError] = []
    for error in errors:
        if str(error) not in seen:
            seen.add(str(error))
            unique.append(error)
    return SpecError.from_errors(unique)


def _field_error(error: ErrorDetails, model: type[BaseModel]) -> FieldError:
    loc: list[str | int] = [part for part in error["loc"] if isinstance(part, str | int)]
    # Drop pydantic's tags for union members and function validators from the path.
    loc = [p for p in loc if not (isinstance(p, str) and ("[" in p and "]" in p and "(" in p))]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    value = error.get("input")
    if kind == FIELD_ERROR:
        subpath = str(ctx.get("subpath") or "")
        return FieldError(format_path([*loc, subpath]), str(ctx["message"]))
    path = format_path(loc)
    return FieldError(path, _message(kind, ctx, value, error["msg"], model, loc))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(
    kind: str,
    ctx: dict[str, Any],
    value: Any,
    default: str,
    model: type[BaseModel],
    loc: list[str | int],
) -> str:
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        hint = f"; allowed fields: {', '.join(allowed)}" if allowed else ""
        return f"is not a known field{hint}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        expected = expected.replace(" or ", ", ")
        return f"must be one of: {expected} (got {_show(value)})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be an integer (got {_show(value)})"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false (got {_show(value)})"
    if kind in ("string_type", "string_unicode"):
        return f"must be a string (got {_show(value)})"
    if kind in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        return f"must be a mapping of fields (got {_show(value)})"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"must be a list (got {_show(value)})"
    if kind == "greater_than_equal":
        return f"must be >= {ctx['ge']} (got {_show(value)})"
    if kind == "less_than_equal":
        return f"must be <= {ctx['le']} (got {_show(value)})"
    if kind == "greater_than":
        return f"must be > {ctx['gt']} (got {_show(value)})"
    if kind == "less_than":
        return f"must be < {ctx['lt']} (got {_show(value)})"
    if kind == "string_pattern_mismatch":
        rule = PATTERN_RULES.get(str(ctx.get("pattern")), f"match {ctx.get('pattern')}")
        return f"must be {rule} (got {_show(value)})"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters (got {len(str(value))})"
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else default
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    return default


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation such as `X | None`, `list[X]` or Annotated[X, ...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return nested_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple):
        for arg in typing.get_args(annotation):
            found = nested_model(arg)
            if found is not None:
                return found
    return None


def _allowed_fields(model: type[BaseModel], loc: list[str | int]) -> list[str]:
    """The wire names of the fields of the model found at `loc` below `model`."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)), None
        )
        current = nested_model(field.annotation) if field is not None else None
    if current is None:
        return []
    return sorted(f.alias or name for name, f in current.model_fields.items())
