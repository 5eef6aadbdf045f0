"""A booking's answers to its service's questions, checked against the questions as
they are when the booking is made (the schedule read under the provider's lock).

Rules a reader cannot see in the types: an answer to a question the service does not
(or no longer) ask is refused, so a stale form learns it; an empty answer (``""``,
``[]``) is no answer; a required checkbox must be ticked; text is one line (long text
may have several); choices must be among the options; phone numbers are international
and stored in E.164. The stored answer carries the question's label and kind, so it
reads the same after the provider edits or removes the question.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from calisera.bookings.schemas import AnswerValue, e164
from calisera.core.errors import FieldError, InvalidInput
from calisera.providers.schemas import QuestionOut

MAX_TEXT_ANSWER = 500
"""A one-line answer's limit (long text: the 2,000 of every answer)."""


def _value(question: QuestionOut, value: AnswerValue) -> str | bool | list[str] | None:
    """The normalised answer, ``None`` for no answer; ``ValueError`` says what is wrong."""
    kind = question.kind
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind == "multiple_choice":
        if not isinstance(value, list):
            raise ValueError("must be a list of the options")
        unknown = [v for v in value if v not in question.options]
        if unknown:
            raise ValueError(f"not an option: {unknown[0]}")
        if len(set(value)) != len(value):
            raise ValueError("an option is chosen twice")
        return [o for o in question.options if o in value] or None
    if not isinstance(value, str):
        raise ValueError("must be text")
    if not value:
        return None
    if kind == "single_choice":
        if value not in question.options:
            raise ValueError("not one of the options")
        return value
    if kind == "phone":
        return e164(value)
    if kind == "text":
        if "\n" in value or "\r" in value or "\t" in value:
            raise ValueError("must be one line")
        if len(value) > MAX_TEXT_ANSWER:
            raise ValueError(f"at most {MAX_TEXT_ANSWER} characters")
    return value


def checked_answers(
    questions: Sequence[QuestionOut],
    answers: Mapping[str, AnswerValue],
    *,
    required: bool = True,
) -> list[dict[str, Any]]:
    """The answers to store, in the questions' order; :class:`InvalidInput` names every
    ``answers.<question id>`` at fault. With ``required`` false (the provider books for a
    client) a required question may stay unanswered."""
    by_id = {str(q.id): q for q in questions}
    errors = [
        FieldError(f"answers.{key}", "not a question of this service")
        for key in answers
        if key not in by_id
    ]
    stored: list[dict[str, Any]] = []
    for question in questions:
        key = str(question.id)
        field = f"answers.{key}"
        try:
            value = _value(question, answers[key]) if key in answers else None
        except ValueError as exc:
            errors.append(FieldError(field, str(exc)))
            continue
        if required and question.required and (value is None or value is False):
            errors.append(
                FieldError(field, "must be ticked" if question.kind == "checkbox" else "required")
            )
            continue
        if value is not None:
            stored.append(
                {"question_id": key, "label": question.label, "kind": question.kind, "value": value}
            )
    if errors:
        raise InvalidInput("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return stored
