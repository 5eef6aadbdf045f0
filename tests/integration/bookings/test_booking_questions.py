"""Booking questions through the HTTP API on real PostgreSQL: defined on the service by
the providers API, answered in ``POST /api/v1/bookings``, checked by the bookings
service against the questions as they are, stored and shown with the booking."""

from __future__ import annotations

from typing import Any

import psycopg

from calisera.core.database import libpq_url
from calisera.notifications.rendering import render

from .conftest import booking_body, tomorrow_at

QUESTIONS = [
    {"kind": "text", "label": "Name of your dog", "required": True},
    {"kind": "long_text", "label": "Anything we should know?"},
    {"kind": "single_choice", "label": "Coat", "options": ["Short", "Long"], "required": True},
    {"kind": "multiple_choice", "label": "Extras", "options": ["Nails", "Teeth", "Ears"]},
    {"kind": "checkbox", "label": "I accept the terms", "required": True},
    {"kind": "phone", "label": "Phone for the pick-up"},
]


def _ids(config: Any) -> list[str]:
    return [str(q.id) for q in config.service.questions]


def _answers(ids: list[str]) -> dict[str, Any]:
    return {
        ids[0]: "Rex",
        ids[1]: "He is shy.\nPlease be gentle.",
        ids[2]: "Long",
        ids[3]: ["Ears", "Nails"],
        ids[4]: True,
        ids[5]: "+41 44 668 18 00",
    }


async def test_answers_are_stored_and_returned_with_the_booking(client, schedules, admin_headers):
    config = await schedules.add_service(questions=QUESTIONS)
    ids = _ids(config)
    assert [q.kind for q in config.service.questions] == [q["kind"] for q in QUESTIONS]
    r = await client.post(
        "/api/v1/bookings", json=booking_body(config, tomorrow_at(10), answers=_answers(ids))
    )
    assert r.status_code == 201, r.text
    created = r.json()
    expected = [
        ("Name of your dog", "Rex"),
        ("Anything we should know?", "He is shy.\nPlease be gentle."),
        ("Coat", "Long"),
        ("Extras", ["Nails", "Ears"]),
        ("I accept the terms", True),
        ("Phone for the pick-up", "+41446681800"),  # E.164
    ]
    assert [(a["label"], a["value"]) for a in created["answers"]] == expected
    for headers in ({"X-Manage-Token": created["manage_token"]}, admin_headers):
        got = await client.get(f"/api/v1/bookings/{created['id']}", headers=headers)
        assert [(a["label"], a["value"]) for a in got.json()["answers"]] == expected
    listed = await client.get(
        f"/api/v1/providers/{config.provider_id}/bookings", headers=admin_headers
    )
    assert listed.json()["items"][0]["answers"] == created["answers"]


async def test_wrong_and_missing_answers_are_422_naming_each_question(client, schedules):
    config = await schedules.add_service(questions=QUESTIONS)
    ids = _ids(config)
    answers = {ids[2]: "Curly", ids[4]: False, ids[5]: "044 668 18 00", "nope": "x"}
    r = await client.post(
        "/api/v1/bookings", json=booking_body(config, tomorrow_at(10), answers=answers)
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(errors) == {f"answers.{i}" for i in (ids[0], ids[2], ids[4], ids[5], "nope")}
    assert errors[f"answers.{ids[0]}"] == "required"
    assert errors[f"answers.{ids[4]}"] == "must be ticked"


async def test_answers_of_the_wrong_json_type_are_422_not_500(client, schedules):
    config = await schedules.add_service(questions=QUESTIONS)
    ids = _ids(config)
    for answers in ({ids[0]: 5}, {ids[0]: None}, {ids[3]: [1]}, {ids[0]: "x" * 2001}, []):
        r = await client.post(
            "/api/v1/bookings", json=booking_body(config, tomorrow_at(10), answers=answers)
        )
        assert r.status_code == 422, (answers, r.text)
        assert all(e["field"].startswith("answers") for e in r.json()["errors"]), r.text


async def test_a_removed_question_is_no_longer_required_and_old_answers_stay(
    client, schedules, admin_headers
):
    config = await schedules.add_service(questions=QUESTIONS[:1])
    [dog] = _ids(config)
    first = await client.post(
        "/api/v1/bookings", json=booking_body(config, tomorrow_at(9), answers={dog: "Rex"})
    )
    assert first.status_code == 201, first.text
    url = f"/api/v1/providers/{config.provider_id}/services/{config.service.id}"
    kept = {"kind": "checkbox", "label": "Terms"}
    r = await client.patch(url, json={"questions": [kept]}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert [q["label"] for q in r.json()["questions"]] == ["Terms"]
    r = await client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(10)))
    assert r.status_code == 201, r.text
    assert r.json()["answers"] == []
    stale = await client.post(
        "/api/v1/bookings", json=booking_body(config, tomorrow_at(11), answers={dog: "Rex"})
    )
    assert stale.status_code == 422
    assert stale.json()["errors"][0]["field"] == f"answers.{dog}"
    got = await client.get(f"/api/v1/bookings/{first.json()['id']}", headers=admin_headers)
    assert got.json()["answers"][0]["value"] == "Rex"


async def test_a_patch_that_keeps_an_id_keeps_the_question(client, schedules, admin_headers):
    config = await schedules.add_service(questions=QUESTIONS[:2])
    url = f"/api/v1/providers/{config.provider_id}/services/{config.service.id}"
    questions = (await client.get(url, headers=admin_headers)).json()["questions"]
    questions[0]["label"] = "Your dog's name"
    r = await client.patch(url, json={"questions": questions[:1]}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert [(q["id"], q["label"]) for q in r.json()["questions"]] == [
        (questions[0]["id"], "Your dog's name")
    ]
    public = await client.get(f"/api/v1/providers/by-slug/{config.provider_slug}")
    [service] = [s for s in public.json()["services"] if s["id"] == str(config.service.id)]
    assert service["questions"] == r.json()["questions"]


async def test_question_definitions_are_validated_with_field_errors(
    client, schedules, admin_headers
):
    config = await schedules.add_service()
    url = f"/api/v1/providers/{config.provider_id}/services/{config.service.id}"
    bad = [
        {"kind": "text", "label": "Dog"},
        {"kind": "text", "label": "dog"},
        {"kind": "single_choice", "label": "Coat", "options": ["Short"]},
    ]
    r = await client.patch(url, json={"questions": bad}, headers=admin_headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["questions[2].options"]
    r = await client.patch(url, json={"questions": bad[:2]}, headers=admin_headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["questions[1].label"]
    r = await client.patch(url, json={"questions": None}, headers=admin_headers)
    assert r.status_code == 422
    too_many = [{"kind": "text", "label": f"Q{i}"} for i in range(21)]
    r = await client.patch(url, json={"questions": too_many}, headers=admin_headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["questions"]


async def test_the_answers_are_in_the_confirmation_and_provider_e_mails(
    client, schedules, database_url
):
    config = await schedules.add_service(questions=QUESTIONS)
    r = await client.post(
        "/api/v1/bookings",
        json=booking_body(config, tomorrow_at(10), answers=_answers(_ids(config))),
    )
    assert r.status_code == 201, r.text
    with psycopg.connect(libpq_url(database_url)) as conn:
        [(envelope,)] = conn.execute(
            "SELECT envelope FROM bookings.outbox WHERE type = 'booking.created'"
        ).fetchall()
    payload = {**envelope["data"], "kind": "created"}
    customer = render("customer", payload, "http://calisera.test")
    provider = render("provider", payload, "http://calisera.test")
    for text in (customer.text, provider.text):
        assert "Name of your dog: Rex" in text
        assert "Extras: Nails, Ears" in text
        assert "I accept the terms: Yes" in text
        assert "Phone for the pick-up: +41446681800" in text
    assert '<th align="left">Coat</th><td>Long</td>' in provider.html
    assert '<th align="left">Coat</th><td>Long</td>' in customer.html


async def test_the_provider_booking_for_a_client_may_leave_required_questions_open(
    client, schedules, admin_headers
):
    config = await schedules.add_service(questions=QUESTIONS)
    ids = _ids(config)
    r = await client.post(
        "/api/v1/bookings",
        json=booking_body(config, tomorrow_at(10), answers={ids[2]: "Short"}),
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    assert [a["value"] for a in r.json()["answers"]] == ["Short"]
    wrong = await client.post(
        "/api/v1/bookings",
        json=booking_body(config, tomorrow_at(11), answers={ids[2]: "Curly"}),
        headers=admin_headers,
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == f"answers.{ids[2]}"


async def test_answers_are_stored_for_seats_of_an_event_too(client, schedules):
    config = await schedules.add_service(
        kind="event", capacity=5, starts_at=tomorrow_at(18), questions=QUESTIONS[2:3]
    )
    [coat] = _ids(config)
    r = await client.post(
        "/api/v1/bookings",
        json=booking_body(config, tomorrow_at(18), seats=2, answers={coat: "Short"}),
    )
    assert r.status_code == 201, r.text
    assert r.json()["answers"][0]["value"] == "Short"
