"""Answers to booking questions are checked against the questions as they are."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from calisera.bookings.answers import checked_answers
from calisera.core.errors import FieldError, InvalidInput, validation_problem
from calisera.providers.questions import question_rows
from calisera.providers.schemas import QuestionOut, ServiceCreate


def _question(
    kind: str, *, required: bool = False, options: list[str] | None = None
) -> QuestionOut:
    return QuestionOut(
        id=uuid.uuid4(), kind=kind, label=f"{kind}?", required=required, options=options or []
    )


def _errors(questions: list[QuestionOut], answers: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        checked_answers(questions, answers)
    return {e.field: e.message for e in caught.value.errors}


def test_every_kind_is_normalised_and_stored_with_its_label() -> None:
    qs = [
        _question("text"),
        _question("long_text"),
        _question("single_choice", options=["Short", "Long"]),
        _question("multiple_choice", options=["Wash", "Cut", "Dry"]),
        _question("checkbox"),
        _question("phone"),
    ]
    values: list[Any] = [
        "Ada",
        "Line one\nline two",
        "Long",
        ["Dry", "Wash"],
        True,
        "+41 44 668 18 00",
    ]
    stored = checked_answers(qs, {str(q.id): v for q, v in zip(qs, values, strict=True)})
    assert [a["value"] for a in stored] == [
        "Ada",
        "Line one\nline two",
        "Long",
        ["Wash", "Dry"],  # in the options' order
        True,
        "+41446681800",
    ]
    assert stored[0] == {
        "question_id": str(qs[0].id),
        "label": "text?",
        "kind": "text",
        "value": "Ada",
    }


def test_required_questions_need_an_answer_and_a_required_checkbox_a_tick() -> None:
    text = _question("text", required=True)
    box = _question("checkbox", required=True)
    many = _question("multiple_choice", required=True, options=["a", "b"])
    errors = _errors([text, box, many], {str(text.id): "", str(box.id): False, str(many.id): []})
    assert errors == {
        f"answers.{text.id}": "required",
        f"answers.{box.id}": "must be ticked",
        f"answers.{many.id}": "required",
    }


def test_optional_questions_may_stay_unanswered() -> None:
    assert checked_answers([_question("text"), _question("phone")], {}) == []


@pytest.mark.parametrize(
    ("kind", "options", "value", "message"),
    [
        ("text", None, "two\nlines", "must be one line"),
        ("text", None, ["a"], "must be text"),
        ("checkbox", None, "yes", "must be true or false"),
        ("single_choice", ["a", "b"], "c", "not one of the options"),
        ("multiple_choice", ["a", "b"], ["a", "z"], "not an option: z"),
        ("multiple_choice", ["a", "b"], "a", "must be a list of the options"),
        ("phone", None, "044 668 18 00", "use the international format"),
        ("phone", None, "+41 12", "not a valid phone number"),
    ],
)
def test_a_wrong_answer_names_its_question(
    kind: str, options: list[str] | None, value: Any, message: str
) -> None:
    q = _question(kind, options=options)
    assert _errors([q], {str(q.id): value})[f"answers.{q.id}"].startswith(message)


def test_an_answer_to_no_question_of_the_service_is_refused() -> None:
    gone = str(uuid.uuid4())
    assert _errors([], {gone: "x"}) == {f"answers.{gone}": "not a question of this service"}


def _service_errors(questions: list[dict[str, Any]]) -> dict[str, str]:
    body = {"name": "Cut", "kind": "simple", "duration_minutes": 30, "questions": questions}
    with pytest.raises(ValidationError) as caught:
        ServiceCreate.model_validate(body)
    return {e.field: e.message for e in validation_problem(caught.value.errors()).errors}


def test_question_definitions_are_checked_field_by_field() -> None:
    errors = _service_errors(
        [
            {"kind": "text", "label": "Name of your dog"},
            {"kind": "single_choice", "label": "Length", "options": ["short"]},
            {"kind": "phone", "label": "Phone", "options": ["a", "b"]},
            {"kind": "multiple_choice", "label": "Extras", "options": ["a", "A"]},
            {"kind": "text", "label": " "},
            {"kind": "select", "label": "x"},
        ]
    )
    assert set(errors) == {
        "questions[1].options",
        "questions[2].options",
        "questions[3].options",
        "questions[4].label",
        "questions[5].kind",
    }


def test_at_most_twenty_questions() -> None:
    errors = _service_errors([{"kind": "text", "label": f"Q{i}"} for i in range(21)])
    assert list(errors) == ["questions"]


def test_new_questions_get_ids_and_repeated_ids_or_labels_are_named() -> None:
    kept = str(uuid.uuid4())
    errors: list[FieldError] = []
    rows = question_rows(
        [
            {"id": kept, "kind": "text", "label": "Dog"},
            {"kind": "checkbox", "label": "Terms"},
            {"id": kept, "kind": "text", "label": "dog"},
        ],
        errors,
    )
    assert rows[0]["id"] == kept and uuid.UUID(rows[1]["id"]) and rows[1]["options"] == []
    assert [e.field for e in errors] == ["questions[2].id", "questions[2].label"]
