"""The console's form translations: what a person typed, as the providers API's body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calisera.web import hours_form, question_form, service_form


def test_blocking_starts_on_the_grid_in_the_providers_wall_clock():
    now = datetime(2027, 3, 29, 7, 13, 42, tzinfo=UTC)  # 09:13:42 in Berlin (summer time)
    block = hours_form.block_from_now("Europe/Berlin", 2, now)
    assert (block["start"], block["end"]) == ("2027-03-29T09:10", "2027-03-29T11:15")


def test_an_api_error_on_the_nth_interval_lands_on_its_row():
    rows = [
        [{"start": "09:00", "end": "12:00"}, {"start": "", "end": ""}],
        [],
        [{"start": "10:00", "end": "09:00"}],
    ]
    rows += [[] for _ in range(4)]
    weekly, names, errors = hours_form.weekly_from_rows(rows)
    assert errors == {} and names == ["w0.0", "w2.0"]
    assert [r["weekday"] for r in weekly] == [0, 2]
    mapped = hours_form.map_weekly_errors({"weekly[1].end": "must be after start"}, names)
    assert mapped == {"w2.0": "must be after start"}


def test_an_event_time_is_read_in_the_providers_zone():
    form = {"name": "Open day", "duration_minutes": "60", "starts_at": "2027-01-10T18:00"}
    body = service_form.to_body(form, "event", "America/New_York", creating=True)
    assert body["starts_at"] == "2027-01-10T18:00:00-05:00"
    assert "location" not in body  # left to the API's default


def test_clearing_an_optional_field_on_edit_sends_null():
    form = {"name": "Cut", "duration_minutes": "30", "max_bookings_per_day": "", "price_text": ""}
    body = service_form.to_body(form, "simple", "UTC", creating=False)
    assert body["max_bookings_per_day"] is None and body["price_text"] is None
    assert "kind" not in body  # kind cannot change


def test_words_where_numbers_belong_are_refused_before_any_request():
    with pytest.raises(service_form.FormErrors) as caught:
        service_form.to_body(
            {"name": "Cut", "duration_minutes": "ten"}, "simple", "UTC", creating=True
        )
    assert caught.value.errors == {"duration_minutes": "must be a whole number"}


def test_a_location_error_names_the_forms_field():
    assert service_form.api_field("location.online.url", {}) == "location.url"
    assert service_form.api_field("recurrence.rrule", {}) == "recurrence.rrule"


QUESTION_ROWS = {
    "name": "Portrait",
    "duration_minutes": "60",
    "questions[0].id": "7b0c5f8e-8a31-4f5e-9b53-5c0f2f3e6a11",
    "questions[0].label": "Who is the portrait of?",
    "questions[0].kind": "text",
    "questions[0].required": "required",
    "questions[1].label": "",  # removed: its label was cleared
    "questions[1].kind": "checkbox",
    "questions[2].label": "Size",
    "questions[2].kind": "single_choice",
    "questions[2].options": "A4\r\n A3 \r\n\r\n",
    "questions[3].label": "",
}


def test_question_rows_become_the_apis_list_and_errors_find_their_row():
    body = service_form.to_body(QUESTION_ROWS, "simple", "UTC", creating=False)
    assert body["questions"] == [
        {
            "kind": "text",
            "label": "Who is the portrait of?",
            "required": True,
            "id": "7b0c5f8e-8a31-4f5e-9b53-5c0f2f3e6a11",
        },
        {"kind": "single_choice", "label": "Size", "required": False, "options": ["A4", "A3"]},
    ]
    # the API's second question is the form's third row (the second was left out)
    assert service_form.api_field("questions[1].options", QUESTION_ROWS) == "questions[2].options"
    assert service_form.api_field("questions", QUESTION_ROWS) == "questions"
    # editing with every label cleared removes the questions; creating sends none
    cleared = {k: ("" if k.endswith(".label") else v) for k, v in QUESTION_ROWS.items()}
    assert service_form.to_body(cleared, "simple", "UTC", creating=False)["questions"] == []
    assert "questions" not in service_form.to_body(cleared, "simple", "UTC", creating=True)


def test_a_services_questions_load_into_rows_with_room_for_more():
    values = service_form.to_values(
        {"name": "Portrait", "questions": [{"id": "q1", "kind": "checkbox", "label": "OK?"}]},
        "UTC",
    )
    assert values["questions[0].label"] == "OK?" and values["questions[0].required"] == ""
    assert question_form.shown_rows(values) == [0, 1, 2]
    assert question_form.shown_rows(service_form.defaults("simple")) == [0, 1]
