"""Services of all three kinds: create, edit, archive; the API's field errors next to
the field they name."""

from __future__ import annotations

import re

from tests.integration.console.conftest import nonce_of, onboard


async def _new(browser, kind: str, **fields: str):
    page = await browser.get(f"/console/services/new?kind={kind}")
    assert page.status_code == 200
    return await browser.post(
        "/console/services/new", {"nonce": nonce_of(page.text), "kind": kind, **fields}
    )


async def _services(browser, provider):
    r = await browser.get(f"/bff/api/providers/{provider['id']}/services")
    return {s["name"]: s for s in r.json()["items"]}


async def test_each_kind_is_created_with_its_own_fields(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    simple = await _new(
        browser,
        "simple",
        name="Colour",
        duration_minutes="90",
        capacity="1",
        buffer_after_minutes="15",
        slot_interval_minutes="30",
        price_text="€80",
        **{"location.type": "in_person", "location.address": "Oranienstr. 1"},
    )
    assert simple.status_code == 303, simple.text
    event = await _new(
        browser, "event", name="Open day", duration_minutes="120", capacity="20",
        starts_at="2030-05-04T14:00",
    )  # fmt: skip
    assert event.status_code == 303, event.text
    klass = await _new(
        browser,
        "class",
        name="Styling class",
        duration_minutes="60",
        capacity="8",
        **{
            "recurrence.rrule": "FREQ=WEEKLY;BYDAY=TU",
            "recurrence.start_time": "18:00",
            "recurrence.starts_on": "2030-01-01",
            "recurrence.exdates": "2030-01-08, 2030-01-15",
        },
    )
    assert klass.status_code == 303, klass.text
    saved = await _services(browser, provider)
    assert saved["Colour"]["buffer_after_minutes"] == 15
    assert saved["Colour"]["location"] == {"type": "in_person", "address": "Oranienstr. 1"}
    assert saved["Open day"]["starts_at"].startswith("2030-05-04T12:00")  # 14:00 in Berlin
    assert saved["Styling class"]["recurrence"]["exdates"] == ["2030-01-08", "2030-01-15"]
    listed = await browser.get("/console/services")
    assert all(name in listed.text for name in saved)


async def test_the_api_errors_are_shown_next_to_their_fields(sign_in):
    browser = await sign_in("nora@example.com")
    await onboard(browser)
    r = await _new(
        browser,
        "class",
        name="Bad class",
        duration_minutes="0",
        capacity="8",
        **{
            "recurrence.rrule": "FREQ=WEEKLY;BYDAY=TU",
            "recurrence.start_time": "18:03",
            "recurrence.starts_on": "2030-01-01",
        },
    )
    assert r.status_code == 422
    assert 'id="f-duration_minutes-error"' in r.text
    assert 'id="f-recurrence-start_time-error"' in r.text
    online = await _new(
        browser, "simple", name="Call", duration_minutes="30",
        **{"location.type": "online", "location.url": "not a url"},
    )  # fmt: skip
    assert online.status_code == 422
    assert 'id="f-location-url-error"' in online.text
    typed = await _new(browser, "simple", name="Cut", duration_minutes="ten")
    assert typed.status_code == 422 and 'id="f-duration_minutes-error"' in typed.text


async def test_a_service_is_edited_then_archived(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    haircut = (await _services(browser, provider))["Haircut"]
    form = await browser.get(f"/console/services/{haircut['id']}")
    assert 'value="Haircut"' in form.text
    values = dict(re.findall(r'name="([^"]+)" type="[^"]+" value="([^"]*)"', form.text))
    values.update(name="Long haircut", duration_minutes="45", max_bookings_per_day="6")
    saved = await browser.post(f"/console/services/{haircut['id']}", values)
    assert saved.status_code == 303, saved.text
    edited = (await _services(browser, provider))["Long haircut"]
    assert (edited["duration_minutes"], edited["max_bookings_per_day"]) == (45, 6)
    archived = await browser.post(f"/console/services/{haircut['id']}/archive")
    assert archived.status_code == 303
    assert (await _services(browser, provider))["Long haircut"]["active"] is False
    listed = await browser.get("/console/services")
    assert "Make bookable again: Long haircut" in listed.text


async def test_booking_questions_are_added_edited_and_removed_from_the_form(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    haircut = (await _services(browser, provider))["Haircut"]
    url = f"/console/services/{haircut['id']}"
    form = await browser.get(url)
    assert 'name="questions[0].label"' in form.text  # blank rows to add one
    base = {"nonce": nonce_of(form.text), "name": "Haircut", "duration_minutes": "30"}
    bad = await browser.post(
        url,
        {
            **base,
            "questions[0].label": "",
            "questions[1].label": "Which length?",
            "questions[1].kind": "single_choice",
            "questions[1].options": "Short",
        },
    )
    # the API's questions[0] is the form's row 1: the error is shown there
    assert bad.status_code == 422 and 'id="f-questions-1-options-error"' in bad.text
    form = await browser.get(url)
    saved = await browser.post(
        url,
        {
            **base,
            "nonce": nonce_of(form.text),
            "questions[0].label": "Which length?",
            "questions[0].kind": "single_choice",
            "questions[0].options": "Short\r\nLong",
            "questions[0].required": "required",
            "questions[1].label": "Anything else?",
            "questions[1].kind": "long_text",
        },
    )
    assert saved.status_code == 303, saved.text
    questions = (await _services(browser, provider))["Haircut"]["questions"]
    assert [(q["label"], q["required"], q["options"]) for q in questions] == [
        ("Which length?", True, ["Short", "Long"]),
        ("Anything else?", False, []),
    ]
    form = await browser.get(url)
    assert f'value="{questions[0]["id"]}"' in form.text  # the id goes back, answers stay linked
    values = dict(re.findall(r'name="(questions\[\d+\]\.id)" value="([^"]*)"', form.text))
    removed = await browser.post(
        url,
        {
            **base,
            **values,
            "nonce": nonce_of(form.text),
            "questions[0].label": "",
            "questions[1].label": "Anything else?",
            "questions[1].kind": "long_text",
        },
    )
    assert removed.status_code == 303, removed.text
    (kept,) = (await _services(browser, provider))["Haircut"]["questions"]
    assert (kept["id"], kept["label"]) == (questions[1]["id"], "Anything else?")
