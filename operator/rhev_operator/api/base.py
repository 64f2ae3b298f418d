"""The two bases of every model part: camelCase names on the wire (`to_camel`, and
`populate_by_name=True` accepts the snake_case Python names too), attribute docstrings as
field descriptions (they become the CRD descriptions and the generated reference)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Base of every spec part: camelCase on the wire, unknown fields are an error."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="forbid",
        validate_default=False,
    )


class StatusModel(BaseModel):
    """Base of every status part: camelCase on the wire, unknown fields are kept out."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="ignore",
    )
