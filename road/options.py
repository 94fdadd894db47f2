"""CLI options derived from the config models: each default (and help text) is written once.

A flag's default is read from the pydantic field or dataclass field it sets, and a pydantic
field's `description` is its help and its `ge`/`le` its bounds, so the CLI cannot drift from
what the models do when the flag is left out (tests/test_cli.py checks every command).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_args, get_origin

import annotated_types
import typer
from pydantic import BaseModel


def model_default(model: type, name: str) -> Any:
    """The default of field `name` of a pydantic model or a dataclass; a factory is called."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        info = model.model_fields[name]
        return info.get_default(call_default_factory=True)
    field = next(f for f in dataclasses.fields(model) if f.name == name)  # type: ignore[arg-type]
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise KeyError(f"{model.__name__}.{name} has no default")


def setting(model: type[BaseModel], name: str, *decls: str, **kwargs: Any) -> Any:
    """A typer Option for pydantic field `name`: its description (and choices) as help, its
    bounds as min/max.
    """
    info = model.model_fields[name]
    bounds: dict[str, Any] = {}
    for rule in info.metadata:
        if isinstance(rule, annotated_types.Ge):
            bounds["min"] = rule.ge
        elif isinstance(rule, annotated_types.Le):
            bounds["max"] = rule.le
    text = info.description
    if get_origin(info.annotation) is Literal:
        text = f"{text}: {', '.join(map(str, get_args(info.annotation)))}"
    return typer.Option(*decls, **{"help": text, **bounds, **kwargs})
