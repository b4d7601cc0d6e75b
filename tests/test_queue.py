"""The work queue puts unaccompanied minors first, then minors, then the nearest deadlines;
overdue and near-deadline cases say so in words; filters and keyset paging."""

from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import World
from tests.test_cases_support import Client, Sessions, bearer, new_case


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


async def test_queue_order_and_urgency(client: Client, db: Sessions, world: World) -> None:
    staff = await bearer(db, "staff@example.org")
    detained = _days(-20)
    adult_late = await new_case(client, staff, detention_date=detained, deadline=_days(30))
    adult_overdue = await new_case(client, staff, detention_date=detained, deadline=_days(-2))
    adult_near = await new_case(client, staff, detention_date=detained, deadline=_days(3))
    minor = await new_case(client, staff, detention_date=detained, deadline=_days(40), minor=True)
    alone = await new_case(
        client, staff, detention_date=detained, deadline=_days(50), unaccompanied_minor=True
    )
    closed = await new_case(client, staff, detention_date=detained, deadline=_days(1))
    await client.post(
        f"/api/cases/{closed['id']}/status",
        json={"status": "closed_released", "reason": "Released by judge"},
        headers=staff,
    )
    page = await (await client.get("/api/cases", headers=staff)).json()
    assert [item["id"] for item in page["items"]] == [
        alone["id"],
        minor["id"],
        adult_overdue["id"],
        adult_near["id"],
        adult_late["id"],
    ]
    urgency = {item["id"]: (item["urgency"], item["days_left"]) for item in page["items"]}
    assert urgency[adult_overdue["id"]][0] == "overdue"
    assert urgency[adult_near["id"]][0] == "near"
    assert urgency[adult_late["id"]][0] == "ok"
    assert page["next_cursor"] is None
    closed_only = await client.get("/api/cases?status=closed_released", headers=staff)
    assert [item["id"] for item in (await closed_only.json())["items"]] == [closed["id"]]


async def test_filters_by_nationality_language_and_status(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    india = await new_case(client, staff)
    nepal = await new_case(client, staff, claimed_nationality="NP", languages=[{"language": "nep"}])
    for query, expected in [
        ("nationality=NP", [nepal["id"]]),
        ("nationality=in", [india["id"]]),
        ("language=nep", [nepal["id"]]),
        ("language=pa", [india["id"]]),
        ("status=open&language=hin", [india["id"]]),
        ("status=interview_held", []),
    ]:
        page = await (await client.get(f"/api/cases?{query}", headers=staff)).json()
        assert sorted(item["id"] for item in page["items"]) == sorted(expected), query
    for bad, field in [
        ("status=lost", "status"),
        ("nationality=QQ", "nationality"),
        ("language=zzz", "language"),
        ("limit=0", "limit"),
        ("after=nonsense", "after"),
    ]:
        response = await client.get(f"/api/cases?{bad}", headers=staff)
        assert response.status == 400, bad
        assert field in str((await response.json())["error"]["details"])


async def test_keyset_paging_visits_every_case_once_in_order(
    client: Client, db: Sessions, world: World
) -> None:
    staff = await bearer(db, "staff@example.org")
    created = []
    for n in range(7):
        case = await new_case(client, staff, deadline=_days(10 + n % 3), minor=n % 4 == 0)
        created.append(case["id"])
    seen: list[int] = []
    url = "/api/cases?limit=3"
    for _ in range(5):
        page = await (await client.get(url, headers=staff)).json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        url = f"/api/cases?limit=3&after={page['next_cursor']}"
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))
    everything = await (await client.get("/api/cases?limit=200", headers=staff)).json()
    assert seen == [item["id"] for item in everything["items"]]
