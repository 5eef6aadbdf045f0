"""Booking questions of a service: the stored form of what the provider defined.

A question keeps its id for life, so the answers of earlier bookings (which carry the
question's label as it was) stay linked to it; editing the list means sending it whole,
with the ids of the questions kept. Each question's own rules (labels, options fitting
the kind, at most :data:`~calisera.providers.schemas.MAX_QUESTIONS`) are in
:class:`~calisera.providers.schemas.QuestionIn`; what needs the whole list is here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from calisera.core.errors import FieldError
from calisera.providers.schemas import QuestionOut


def question_rows(questions: Sequence[Any], errors: list[FieldError]) -> list[dict[str, Any]]:
    """``questions`` (request models, or the stored dicts of an unchanged list) as the
    JSON stored on the service, new ones with a fresh id; a repeated id or label is
    appended to ``errors`` as ``questions[i].id`` / ``questions[i].label``."""
    rows: list[dict[str, Any]] = []
    ids: set[str] = set()
    labels: set[str] = set()
    for i, question in enumerate(questions):
        raw = question.model_dump() if isinstance(question, BaseModel) else dict(question)
        raw["id"] = raw.get("id") or uuid.uuid4()
        row = QuestionOut.model_validate(raw).model_dump(mode="json")
        if row["id"] in ids:
            errors.append(FieldError(f"questions[{i}].id", "used by another question"))
        label = row["label"].casefold()
        if label in labels:
            errors.append(FieldError(f"questions[{i}].label", "another question asks the same"))
        ids.add(row["id"])
        labels.add(label)
        rows.append(row)
    return rows
