"""The public directory: only providers who opted in, found with typos, filtered, paged,
showing nothing the provider did not put on their page."""

from __future__ import annotations

import pytest

SEARCH = "/api/v1/providers/search"


@pytest.fixture
def listed(create_provider, client, admin_headers):
    """Create a provider, then opt it in through PATCH with the given directory fields."""

    async def make(name: str, **directory) -> dict:
        p = await create_provider(name=name)
        r = await client.patch(
            f"/api/v1/providers/{p['id']}",
            json={"listed": True, **directory},
            headers=admin_headers,
        )
        assert r.status_code == 200, r.text
        return r.json()

    return make


async def _slugs(client, **params) -> list[str]:
    r = await client.get(SEARCH, params=params)
    assert r.status_code == 200, r.text
    return [p["slug"] for p in r.json()["items"]]


async def test_providers_are_not_listed_until_they_opt_in(client, create_provider, listed):
    hidden = await create_provider(name="Hidden Barber", bio="Barber in Berlin")
    assert hidden["listed"] is False
    shown = await listed("Shown Barber", categories=["barber"], city="Berlin")
    assert await _slugs(client) == [shown["slug"]]
    assert await _slugs(client, q="barber") == [shown["slug"]]


async def test_listing_is_set_and_cleared_through_patch(client, listed, admin_headers):
    p = await listed("Yoga Loft", categories=["yoga", "Fitness", "yoga"], languages=["DE", "en"])
    assert p["categories"] == ["yoga", "fitness"]
    assert p["languages"] == ["de", "en"]
    off = await client.patch(
        f"/api/v1/providers/{p['id']}", json={"listed": False}, headers=admin_headers
    )
    assert off.json()["listed"] is False
    assert await _slugs(client, q="yoga") == []


async def test_suspended_listed_provider_is_not_found(client, listed, admin_headers):
    p = await listed("Quiet Studio", categories=["massage"])
    await client.patch(
        f"/api/v1/providers/{p['id']}", json={"suspended": True}, headers=admin_headers
    )
    assert await _slugs(client, q="quiet") == []


@pytest.mark.parametrize("typo", ["barbr", "Barbar", "barb", "berber shop"])
async def test_misspelt_or_partial_query_finds_the_provider(client, listed, typo):
    barber = await listed("Barber Shop Mitte", categories=["barber"], city="Berlin")
    await listed("Calm Yoga", categories=["yoga"], city="Hamburg")
    assert await _slugs(client, q=typo) == [barber["slug"]]


async def test_name_match_ranks_above_bio_mention(client, listed, create_provider):
    in_bio = await listed("Studio Nord", bio="We also sell massage oils and candles.")
    in_name = await listed("Massage Atelier", categories=["massage"])
    assert await _slugs(client, q="massage") == [in_name["slug"], in_bio["slug"]]


async def test_words_of_the_bio_are_searched(client, listed):
    p = await listed("Studio Nord", bio="Sports physiotherapy after knee surgery.")
    assert await _slugs(client, q="knee") == [p["slug"]]


async def test_filters_by_category_city_area_and_language(client, listed):
    a = await listed("Anna", categories=["coaching"], city="Berlin", area="Kreuzberg",
                     languages=["de", "en"])  # fmt: skip
    b = await listed("Ben", categories=["coaching"], city="Munich", languages=["de"])
    c = await listed("Cleo", categories=["tutoring"], city="berlin", languages=["fr"])
    assert set(await _slugs(client, category="coaching")) == {a["slug"], b["slug"]}
    assert set(await _slugs(client, city="BERLIN")) == {a["slug"], c["slug"]}
    assert await _slugs(client, city="kreuzberg") == [a["slug"]]
    assert await _slugs(client, lang="en") == [a["slug"]]
    assert await _slugs(client, category="coaching", city="Berlin", lang="de") == [a["slug"]]
    assert await _slugs(client, q="coaching", city="Munich") == [b["slug"]]


async def test_pages_cover_every_match_once(client, listed):
    made = {(await listed(f"Hair Studio {i}", categories=["hair"]))["slug"] for i in range(7)}
    for params in ({}, {"q": "hair"}):
        seen: list[str] = []
        cursor = None
        while True:
            query = {**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(SEARCH, params=query)).json()
            assert len(page["items"]) <= 3
            seen += [p["slug"] for p in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(made), params


async def test_entries_show_only_what_the_page_shows(client, listed):
    await listed(
        "Anna Coaching",
        bio="Career coach",
        contact={"email": "private@example.com", "phone": "+4930123456"},
        booking_page={"accent_color": "#336699"},
        categories=["coaching"],
        city="Berlin",
    )
    entry = (await client.get(SEARCH, params={"q": "anna"})).json()["items"][0]
    assert set(entry) == {
        "slug", "name", "bio", "photo_url", "logo_url", "accent_color", "categories",
        "city", "area", "languages", "booking_url",
    }  # fmt: skip
    assert entry["accent_color"] == "#336699"
    text = str(entry)
    assert "private@example.com" not in text and "owner@example.com" not in text


async def test_search_needs_no_credentials_but_the_managed_list_does(client, listed):
    await listed("Open Studio")
    assert (await client.get(SEARCH)).status_code == 200
    assert (await client.get("/api/v1/providers")).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "astrology"}, "category"),
        ({"lang": "english"}, "lang"),
        ({"q": "a" * 201}, "q"),
        ({"q": "bad\x00"}, "q"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"limit": 0}, "limit"),
    ],
)
async def test_bad_search_parameters_are_422_naming_the_field(client, params, field):
    r = await client.get(SEARCH, params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in str(r.json()["errors"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"categories": ["astrology"]}, "categories"),
        ({"categories": ["hair", "nails", "beauty", "barber", "massage", "yoga"]}, "categories"),
        ({"languages": ["english"]}, "languages"),
        ({"city": ""}, "city"),
        ({"listed": None}, "listed"),
    ],
)
async def test_bad_directory_fields_are_422_naming_the_field(
    client, create_provider, admin_headers, body, field
):
    p = await create_provider()
    r = await client.patch(f"/api/v1/providers/{p['id']}", json=body, headers=admin_headers)
    assert r.status_code == 422, r.text
    assert field in str(r.json()["errors"])


async def test_query_made_of_operators_is_harmless(client, listed):
    await listed("Plain Studio")
    for q in ["!", "&|:*()", "'", "or -", "::"]:
        r = await client.get(SEARCH, params={"q": q})
        assert r.status_code == 200, (q, r.text)


async def test_categories_are_listed_publicly(client):
    r = await client.get("/api/v1/providers/categories")
    assert r.status_code == 200
    assert {"slug": "barber", "label": "Barber"} in r.json()
