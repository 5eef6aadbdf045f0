"""What every request body of the providers API shares."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
)


class Input(BaseModel):
    """Request bodies reject unknown fields, so a typo is a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def not_nullable(*names: str) -> Any:
    """A partial update's ``json_schema_extra``: ``names`` may be left out but not sent
    as ``null`` (the service refuses that with 422), so their schema admits no null."""

    def edit(schema: dict[str, Any]) -> None:
        for name in names:
            prop = schema["properties"][name]
            kept = [s for s in prop.pop("anyOf", []) if s.get("type") != "null"]
            prop.pop("default", None)
            if len(kept) == 1:
                prop.update(kept[0])
            elif kept:
                prop["anyOf"] = kept

    return edit
