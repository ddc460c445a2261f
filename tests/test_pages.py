import re

import pytest

from strategy.extensions import db
from strategy.models import Field, Visibility

OVERVIEW = "/strategien/dortmund-neuzuwanderung/"


def field_url(number) -> str:
    return f"/strategien/dortmund-neuzuwanderung/handlungsfelder/{number}"


def test_landing_lists_visible_strategies(client, demo, make):
    make.strategy(title="Interne Strategie", visibility=Visibility.INTERNAL)
    page = client.get("/").get_data(as_text=True)
    assert "Gesamtstrategie Neuzuwanderung" in page
    assert "Interne Strategie" not in page


def test_overview_shows_the_13_fields_in_order(client, demo):
    response = client.get(OVERVIEW)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    titles = [f.title for f in demo.fields]
    positions = [html.index(title) for title in titles]
    assert positions == sorted(positions)
    assert "FG Einbindung von MO und Neuzuwander*innen" in html
    assert "Güntürk (MIA-DO-KI)" in html
    assert "Workshop-Phase II" in html


def test_overview_shortens_long_goal_texts(client, demo):
    html = client.get(OVERVIEW).get_data(as_text=True)
    field4 = demo.fields[3]
    assert field4.goal_text not in html
    assert field4.goal_text[:60] in html


def test_field_page_shows_the_whole_row_grouped_by_phase(client, demo):
    html = client.get(field_url(4)).get_data(as_text=True)
    order = ["Fachgruppe(n)", "Verantwortlich", "Vorgelagerte Vorbereitungsphase", "Ausgangslage / IST",
             "Zentrale(r) Prozess(e) (FF)", "Workshop-Prozess-Phase I", "Vision: Wo wollen wir in 10 Jahren stehen?",
             "Strategische Ziele", "Workshop-Prozess-Phase II", "Zukünftige Herausforderungen",
             "Was hat sich bewährt?", "Was fehlt?", "Weitere konkrete Schritte – wer ist verantwortlich?",
             "Finanzierung?"]
    positions = [html.index(label) for label in order]
    assert positions == sorted(positions)
    assert demo.fields[3].goal_text in html
    assert "Stärkere Beteiligung/Teilhabe/Akzeptanz" in html
    assert "Stärkere Verzahnung unterschiedlicher zivilgesellschaftlicher" in html


def test_empty_cells_say_so(client, demo):
    html = client.get(field_url(9)).get_data(as_text=True)
    assert "Neukonstituierung der FG." in html
    # vision, strategic goals, challenges, what worked, gaps, next steps, financing, central processes
    assert html.count("noch nicht erarbeitet") >= 8


def test_markdown_lists_and_emphasis_are_rendered(client, demo):
    html = client.get(field_url(4)).get_data(as_text=True)
    assert "<li>Mehr Wissen in Verwaltung" in html


def test_raw_html_in_user_text_is_never_passed_through(client, make):
    strategy = make.strategy(fields=1)
    field = strategy.fields[0]
    field.vision = ('<script>alert(1)</script> **fett** [Link](javascript:alert(2)) '
                    '<img src=x onerror=alert(3)> [gut](https://example.org)')
    db.session.commit()
    make.approve(field)
    html = client.get(f"/strategien/{strategy.slug}/handlungsfelder/1").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "<img" not in html
    assert "href=\"javascript:" not in html
    assert "&lt;script&gt;" in html
    assert "<strong>fett</strong>" in html
    assert 'href="https://example.org"' in html


@pytest.mark.parametrize("url", [
    "/strategien/gibt-es-nicht/",
    "/strategien/dortmund-neuzuwanderung/handlungsfelder/99",
    "/strategien/dortmund-neuzuwanderung/handlungsfelder/abc",
    "/strategien/dortmund-neuzuwanderung/handlungsfelder/-1",
    "/strategien/dortmund-neuzuwanderung/handlungsfelder/99999999999999999999999",
    "/gibt/es/nicht",
])
def test_bad_urls_give_a_friendly_404(client, demo, url):
    response = client.get(url)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Seite nicht gefunden" in html
    assert "Traceback" not in html


def test_a_private_strategy_is_a_404_for_anonymous_visitors(client, make):
    strategy = make.strategy(visibility=Visibility.INTERNAL)
    assert client.get(f"/strategien/{strategy.slug}/").status_code == 404
    assert client.get(f"/strategien/{strategy.slug}/handlungsfelder/1").status_code == 404


def test_overview_query_count_does_not_grow_with_the_number_of_fields(client, make, count_queries):
    small = make.strategy(fields=2)
    large = make.strategy(fields=26)
    with count_queries() as few:
        assert client.get(f"/strategien/{small.slug}/").status_code == 200
    with count_queries() as many:
        assert client.get(f"/strategien/{large.slug}/").status_code == 200
    assert many.n == few.n
    assert many.n <= 15


def test_field_page_query_count_is_bounded(client, demo, count_queries):
    with count_queries() as counter:
        assert client.get(field_url(11)).status_code == 200
    assert counter.n <= 20


def test_anonymous_visitors_see_the_approved_content_not_the_draft(client, demo):
    field = db.session.scalar(db.select(Field).filter_by(strategy_id=demo.id, number=4))
    field.vision = "Ein noch nicht freigegebener Entwurf"
    db.session.commit()
    html = client.get(field_url(4)).get_data(as_text=True)
    assert "Ein noch nicht freigegebener Entwurf" not in html
    assert "Dortmund lebt Diversität." in html


def test_an_unapproved_field_says_so_to_anonymous_visitors(client, make):
    strategy = make.strategy(fields=2)
    make.approve(strategy.fields[0])
    html = client.get(f"/strategien/{strategy.slug}/handlungsfelder/2").get_data(as_text=True)
    assert "noch kein Stand freigegeben" in html


def test_archived_field_is_gone_from_overview_and_its_page(client, demo):
    field = db.session.scalar(db.select(Field).filter_by(strategy_id=demo.id, number=13))
    field.is_archived = True
    db.session.commit()
    assert "Zugang zu Gesundheit" not in client.get(OVERVIEW).get_data(as_text=True)
    assert client.get(field_url(13)).status_code == 404


def test_pages_load_no_asset_from_the_internet(client, demo):
    for url in ("/", OVERVIEW, field_url(4), "/anmelden"):
        html = client.get(url).get_data(as_text=True)
        for match in re.finditer(r'(?:src|href)="([^"]+)"', html):
            target = match.group(1)
            if re.search(r"<link[^>]+href=\"" + re.escape(target), html) or 'src="' + target in html:
                assert target.startswith("/"), target


def test_english_is_available_through_the_language_switch(client, demo):
    assert "Handlungsfeld" in client.get(OVERVIEW).get_data(as_text=True)
    response = client.post("/sprache/en", data={"next": OVERVIEW})
    assert response.status_code == 302 and response.headers["Location"].endswith(OVERVIEW)
    html = client.get(field_url(4)).get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Current state" in html
    assert "not yet worked out" in html


def test_language_switch_refuses_outside_redirects(client):
    response = client.post("/sprache/de", data={"next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_pages_have_landmarks_and_one_h1(client, demo):
    for url in (OVERVIEW, field_url(4)):
        html = client.get(url).get_data(as_text=True)
        assert html.count("<h1") == 1
        assert "<main" in html and "<nav" in html and "<header" in html and "<footer" in html
        assert 'class="skip-link" href="#main"' in html


def test_the_login_link_on_the_login_page_does_not_nest_its_return_address(client):
    html = client.get("/anmelden?next=/strategien/").get_data(as_text=True)
    assert 'href="/anmelden?next=/strategien/"' in html
    assert "next=%2Fanmelden" not in html


ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)"')


def test_favicon_ico_answers_without_login(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
        assert response.data[:4] == b"\x00\x00\x01\x00"  # the ICO header


def test_favicon_ico_answers_for_a_signed_in_user(client, auth, make):
    auth.login(make.user())
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200


def test_every_page_links_icons_that_exist(client, demo):
    for url in ("/", OVERVIEW, field_url(4), "/anmelden", "/gibt-es-nicht"):
        icons = ICON_LINK.findall(client.get(url).get_data(as_text=True))
        assert "/favicon.ico" in icons and "/static/favicon.svg" in icons, url
    for icon in icons:
        with client.get(icon) as response:
            assert response.status_code == 200 and response.mimetype.startswith("image/"), icon
