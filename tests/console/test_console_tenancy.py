"""Strict tenancy: an operator of one organisation reaches nothing of
another's — any other id is a 404 (never a 403 that confirms it exists) —
on every console route, on both databases.  And names appear only where the
group agreed to share them."""

from __future__ import annotations

import pytest

from models import Organisation, QueueItem
from services import clock
from tests.console import seed

# Every console route with an id, and which id of the other organisation
# to try.  A new route must be added here or to LIST_ROUTES (the test
# checks the url map), so none escapes the tenancy check.
ID_PARAMS = {
    "group_id": lambda other: other["groups"][0],
    "item_id": lambda other: other["items"][0],
    "notice_id": lambda other: other["notice"],
    "operator_id": lambda other: other["admin"],
}
LIST_ROUTES = {
    "/console/": "GET",
    "/console/today/live": "GET",
    "/console/queue": "GET",
    "/console/groups": "GET",
    "/console/groups.csv": "GET",
    "/console/watches": "GET",
    "/console/notices": "GET",
    "/console/statistics": "GET",
    "/console/statistics/monthly.csv": "GET",
    "/console/organisation": "GET",
    "/console/operators": "GET",
    "/console/audit": "GET",
    "/console/password": "GET",
}
# Routes that act on one's own organisation by construction, or need no
# login at all; each is exercised in the flow tests.
OWN_ONLY = {
    "/console/login",
    "/console/logout",
    "/console/signup/<token>",
    "/console/organisation/link-code",
    "/console/operators",
    "/console/notices/preview",
    "/console/notices/send",
    "/console/statistics/<name>.csv",
}


@pytest.fixture
def orgs(console_app):
    return seed.two_organisations(clock.now())


def console_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("console.")]


def test_it_checks_every_console_route(console_app):
    for rule in console_rules(console_app):
        params = set(rule.arguments)
        covered = (params and params <= set(ID_PARAMS)) or rule.rule in LIST_ROUTES or rule.rule in OWN_ONLY
        assert covered, f"{rule.rule} is in no tenancy table"


def test_it_answers_404_for_every_id_of_another_organisation(console_app, client, orgs):
    kita = client()
    assert kita.login("admin@kita.example.jp").status_code == 302
    midori = orgs["midori"]
    checked = 0
    for rule in console_rules(console_app):
        if not rule.arguments or not set(rule.arguments) <= set(ID_PARAMS):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(ID_PARAMS[name](midori)))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method == "GET":
                response = kita.get(path)
            else:
                response = kita.post(
                    path, {"outcome": "reached", "role": "staff", "active": "0", "note": "x"}
                )
            assert response.status_code == 404, (method, path, response.status_code)
            assert "見つかりません" in response.text
            checked += 1
    assert checked >= 10
    # And nothing changed on the other side.
    assert [i.state for i in QueueItem.select().where(QueueItem.organisation == midori["org"])] == [
        "open",
        "open",
    ]


def test_it_shows_nothing_of_another_organisation_on_any_list(console_app, client, orgs):
    kita = client()
    kita.login("admin@kita.example.jp")
    midori = orgs["midori"]
    leaks = [*midori["words"]]
    leaks += [f'href="/console/groups/{i}"' for i in midori["groups"]]
    leaks += [f'href="/console/queue/{i}"' for i in midori["items"]]
    leaks += [f'href="/console/notices/{midori["notice"]}"']
    for path in LIST_ROUTES:
        response = kita.get(path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        for word in leaks:
            assert word not in text, (path, word)
    # kita's own things are there.
    assert "北区の避難所のお知らせ" in kita.get("/console/notices").text
    assert "北山夏男" in kita.get("/console/queue").text


def test_it_counts_only_the_own_organisations_open_rounds(console_app, client, orgs):
    kita = client()
    kita.login("staff@kita.example.jp")
    page = kita.get("/console/today/live").text
    # kita: 2 open rounds; 北川春子 OK + 北山夏男 help, and the private one's help.
    assert "受付中の確認 2件" in page
    assert 'data-count="help">2<' in page and 'data-count="answered">3<' in page


def test_it_refuses_another_organisations_area_and_leaves_its_link_code(console_app, client, orgs):
    kita = client()
    kita.login("admin@kita.example.jp")
    refused = kita.post("/console/notices/preview", {"text": "お知らせ", "area": "1421200"})  # midori's area
    assert refused.status_code == 400 and "地域の選び方が正しくありません" in refused.text
    kita.post("/console/organisation/link-code")
    assert Organisation.get_by_id(orgs["kita"]["org"]).link_code
    assert Organisation.get_by_id(orgs["midori"]["org"]).link_code is None


def test_it_shows_names_only_where_the_group_agreed(console_app, client, orgs):
    midori = client()
    midori.login("staff@midori.example.jp")
    queue = midori.get("/console/queue").text
    assert "鈴木一郎さん" in queue  # the shared group's 助けが必要
    assert "midoriの非公開の方" not in queue and "（非公開）" in queue
    shared, private = orgs["midori"]["groups"]
    assert "田中次郎" in midori.get(f"/console/groups/{shared}").text
    private_page = midori.get(f"/console/groups/{private}").text
    assert "midoriの非公開の方" not in private_page and "1人（うちリーダー 0人）" in private_page
    for path in LIST_ROUTES:
        assert "midoriの非公開の方" not in midori.get(path).get_data(as_text=True), path
