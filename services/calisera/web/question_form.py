"""The booking questions of the console's service form: rows of fields, as the providers
API's ``questions`` list, and back.

A row is ``questions[i].label``, ``.kind``, ``.required``, ``.options`` (one per line)
and a hidden ``.id`` (so an edited question keeps its answers). A row without a label is
left out, which is how a question is removed; two blank rows follow the questions, so
one can be added without script. Because blank rows are left out, the API's
``questions[k]`` is not always the form's row ``k``: :func:`form_field` maps it back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

KINDS = {
    "text": "Short text",
    "long_text": "Long text",
    "single_choice": "One of several options",
    "multiple_choice": "Any of several options",
    "checkbox": "A box to tick",
    "phone": "Phone number",
}
CHOICES = frozenset({"single_choice", "multiple_choice"})
BLANK_ROWS = 2
_ROW = re.compile(r"^questions\[(\d+)\]\.")


def _rows(form: Mapping[str, str]) -> list[int]:
    """The form's row numbers, in order."""
    return sorted({int(m.group(1)) for key in form if (m := _ROW.match(key))})


def has_rows(form: Mapping[str, str]) -> bool:
    return bool(_rows(form))


def used_rows(form: Mapping[str, str]) -> list[int]:
    """The rows that are questions (a label typed), in order: the API's list order."""
    return [i for i in _rows(form) if form.get(f"questions[{i}].label", "").strip()]


def to_questions(form: Mapping[str, str]) -> list[dict[str, Any]]:
    """The ``questions`` of the request body."""
    questions = []
    for i in used_rows(form):
        kind = form.get(f"questions[{i}].kind", "text")
        question: dict[str, Any] = {
            "kind": kind,
            "label": form[f"questions[{i}].label"].strip(),
            "required": form.get(f"questions[{i}].required") == "required",
        }
        if kind in CHOICES:
            lines = form.get(f"questions[{i}].options", "").splitlines()
            question["options"] = [line.strip() for line in lines if line.strip()]
        if form.get(f"questions[{i}].id"):
            question["id"] = form[f"questions[{i}].id"]
        questions.append(question)
    return questions


def to_values(questions: list[Mapping[str, Any]]) -> dict[str, str]:
    """A service's questions (``QuestionOut``) as the rows' values, blank rows after."""
    values: dict[str, str] = {}
    for i, question in enumerate(questions):
        values[f"questions[{i}].id"] = str(question["id"])
        values[f"questions[{i}].label"] = question["label"]
        values[f"questions[{i}].kind"] = question["kind"]
        values[f"questions[{i}].required"] = "required" if question.get("required") else ""
        values[f"questions[{i}].options"] = "\n".join(question.get("options") or [])
    return values | blank_rows(len(questions))


def blank_rows(start: int) -> dict[str, str]:
    return {f"questions[{i}].label": "" for i in range(start, start + BLANK_ROWS)}


def shown_rows(values: Mapping[str, str]) -> list[int]:
    """The rows the form shows: what was loaded or typed, and blank rows after it."""
    rows = _rows(values)
    used = used_rows(values)
    if len(rows) - len(used) < BLANK_ROWS:  # keep room to add one
        rows += list(range(max(rows, default=-1) + 1, max(rows, default=-1) + 1 + BLANK_ROWS))
    return rows


def form_field(field: str, form: Mapping[str, str]) -> str:
    """The form field of an API error about ``questions[k]`` (``k`` counts used rows)."""
    match = _ROW.match(field)
    if match is None:
        return field
    used = used_rows(form)
    k = int(match.group(1))
    if k >= len(used):
        return field
    return f"questions[{used[k]}]." + field[match.end() :]
