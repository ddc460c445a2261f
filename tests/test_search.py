"""Search (issue #15): German words found on both engines, permissions decided in the query, the index kept
in step with every change, the page and its filters."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_login import AnonymousUserMixin

from strategy.extensions import db
from strategy.models import (
    FinancingItem,
    FundingSource,
    Indicator,
    NextStep,
    Revision,
    RevisionKind,
    Role,
    SearchEntry,
    SearchKind,
    Visibility,
)
from strategy.revisions import record_change
from strategy.search.services import Filters, search
from strategy.search.text import fold, parse_query, snippet, terms
from strategy.snapshots import field_snapshot
from tests.conftest import fresh_database, make_test_app
from tests.support.factories import Factory

ANONYMOUS = AnonymousUserMixin()

# The test corpus: one public strategy, five fields, their columns, steps, a financing item, an indicator.
ROWS = {
    1: {"title": "Arbeit und Qualifizierung",
        "current_state": "Die Clearingstelle berät Geflüchtete zu Ausbildung und Anerkennung ausländischer "
                         "Berufsabschlüsse.",
        "vision": "Alle Neuzugewanderten finden binnen eines Jahres einen Integrationskurs und ein passendes "
                  "Beratungsangebot.",
        "gaps": "Es fehlen berufsbezogene Sprachkurse in der Nordstadt."},
    2: {"title": "Wohnen",
        "current_state": "Die Wohnungslosigkeit in der Nordstadt steigt; viele Familien leben in Notunterkünften "
                         "an der Münsterstraße.",
        "what_worked": "Das Lotsenprojekt vermittelt Wohnungen und begleitet Umzüge.",
        "future_challenges": "Bezahlbarer Wohnraum bleibt knapp, besonders für große Familien."},
    3: {"title": "Gesundheit",
        "current_state": "Ohne Krankenversicherung bleibt der Zugang zur Gesundheitsversorgung schwierig.",
        "strategic_goals": "Die Clearingstelle Gesundheit klärt den Versicherungsstatus; Sprachmittlung in "
                           "Arztpraxen wird ausgebaut.",
        "gaps": "Psychosoziale Beratung für traumatisierte Geflüchtete fehlt."},
    4: {"title": "Bildung",
        "current_state": "Schulpflichtige Kinder warten auf einen Schulplatz; Kitaplätze sind knapp.",
        "vision": "Jedes Kind besucht binnen drei Monaten eine Schule oder Kita.",
        "what_worked": "Seiteneinsteigerklassen und die Elternberatung haben sich bewährt."},
    5: {"title": "Partizipation",
        "current_state": "Migrantenorganisationen (MSO) wirken im Integrationsrat mit.",
        "vision": "Ein Konsens für Partizipation trägt die Stadtgesellschaft.",
        "gaps": "Ehrenamtliche Sprachpaten und Kulturdolmetscher fehlen."},
}
STEPS = {1: "Jobcenter und Agentur für Arbeit stimmen ihre Beratungsangebote ab",
         2: "Lotsen für die Wohnungssuche schulen",
         3: "Anonymen Krankenschein einführen"}

# Query → the hits expected (field number and column, or kind), whatever their order.
QUERIES: list[tuple[str, set[str]]] = [
    ("Clearingstelle", {"1:current_state", "3:strategic_goals"}),
    ("clearingstelle", {"1:current_state", "3:strategic_goals"}),
    ("CLEARINGSTELLE", {"1:current_state", "3:strategic_goals"}),
    ("Geflüchtete", {"1:current_state", "3:gaps"}),
    ("Gefluchtete", {"1:current_state", "3:gaps"}),
    ("Gefluechtete", {"1:current_state", "3:gaps"}),
    ("Geflüchteten", {"1:current_state", "3:gaps"}),
    ("Strasse", {"2:current_state"}),
    ("Münsterstrasse", {"2:current_state"}),
    ("Munsterstraße", {"2:current_state"}),
    ("Beratungsangebote", {"1:vision", "1:step"}),
    ("Beratungsangebot", {"1:vision", "1:step"}),
    ("kurs", {"1:vision", "1:gaps", "1:financing"}),
    ("Integrationskurse", {"1:vision", "1:financing"}),
    ("Sprachkurs", {"1:gaps"}),
    ("Krankenversicherung", {"3:current_state"}),
    ("Versicherung", {"3:current_state", "3:strategic_goals"}),
    ("Wohnung", {"2:current_state", "2:what_worked", "2:step"}),
    ("Wohnungen", {"2:current_state", "2:what_worked", "2:step"}),
    ("Lotsen", {"2:what_worked", "2:step"}),
    ('"Agentur für Arbeit"', {"1:step"}),
    ('"Arbeit für Agentur"', set()),
    ("Nordstadt", {"1:gaps", "2:current_state"}),
    ("Nordstadt -Wohnungslosigkeit", {"1:gaps"}),
    ("Nordstadt -Sprachkurse", {"2:current_state"}),
    ('Nordstadt -"berufsbezogene Sprachkurse"', {"2:current_state"}),
    ("Familien", {"2:current_state", "2:future_challenges"}),
    ("Familie", {"2:current_state", "2:future_challenges"}),
    ("Kita", {"4:current_state", "4:vision"}),
    ("Schule", {"4:current_state", "4:vision", "4:indicator", "2:step"}),  # "schulen" in step 2, too
    ("Schulplatz", {"4:current_state", "4:indicator"}),
    ("Partizipation", {"5:title", "5:vision"}),
    ("MSO", {"5:current_state"}),
    ("Migrantenorganisation", {"5:current_state"}),
    ("Dolmetscher", {"5:gaps"}),
    ("Sprachmittlung", {"3:strategic_goals"}),
    ("Gesundheitsversorgung", {"3:current_state"}),
    ("Gesundheit", {"3:title", "3:current_state", "3:strategic_goals"}),
    ("Arzt", {"3:strategic_goals"}),
    ("Ausbildung Anerkennung", {"1:current_state"}),
    ('"berufsbezogene Sprachkurse"', {"1:gaps"}),
    ("Jobcenter", {"1:step"}),
    ("Krankenschein", {"3:step"}),
    ("ESF", {"1:financing"}),
    ("Kofinanzierung", {"1:financing"}),
    ("bezahlbar", {"2:future_challenges"}),
    ("Elternberatung", {"4:what_worked"}),
    ("Beratung", {"1:current_state", "1:vision", "1:step", "3:gaps", "4:what_worked"}),  # "berät" as well
    ("Trauma", {"3:gaps"}),
    ("Integrationsrat", {"5:current_state"}),
    ("Zebrastreifen", set()),
    ("Clearingstelle Zebrastreifen", set()),
    ("-Nordstadt", set()),
]


def build_corpus(make: Factory):
    strategy = make.strategy(fields=5, visibility=Visibility.PUBLIC, slug="teststadt", title="Teststadt")
    fields = {n: make.field(strategy, n) for n in ROWS}
    for number, row in ROWS.items():
        for key, value in row.items():
            setattr(fields[number], key, value)
    for number, description in STEPS.items():
        fields[number].next_steps.append(NextStep(description=description, due_date=date(2027, 6, 30)))
    fields[1].financing_items.append(FinancingItem(source=FundingSource.ESF_PLUS, programme="Integrationskurse Plus",
                                                   note="Kofinanzierung durch die Stadt"))
    fields[4].indicators.append(Indicator(name="Anzahl Kinder ohne Schulplatz"))
    db.session.commit()
    make.approve(*fields.values())
    return strategy


def hit_key(hit) -> str:
    kind = hit.kind.value
    return f"{hit.field_number}:{hit.column if kind in ('column', 'revision', 'edition') else kind}"


def found(user, text: str, **filters) -> list[str]:
    return [hit_key(hit) for hit in search(user, text, Filters(**filters)).hits]


@pytest.fixture
def corpus(make):
    return build_corpus(make)


@pytest.fixture(autouse=True)
def in_a_request(request):
    """search() builds the hits' links (url_for), as it does inside a request; a test client request makes
    its own context."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.test_request_context():
        yield


# --- German words, on both engines -----------------------------------------------------------------

def test_german_queries_find_the_expected_approved_hits(corpus):
    """The whole table on each engine (one corpus for all queries: building it is the slow part)."""
    wrong = {query: (sorted(found(ANONYMOUS, query)), sorted(expected)) for query, expected in QUERIES
             if set(found(ANONYMOUS, query)) != expected}
    assert wrong == {}


def test_there_are_at_least_forty_queries_with_umlauts_plurals_compounds_phrases_exclusions_and_no_hits():
    queries = [q for q, _ in QUERIES]
    assert len(queries) >= 40
    assert any("ü" in q for q in queries) and any("ss" in q.lower() for q in queries)
    assert any('"' in q for q in queries) and any(" -" in q for q in queries)
    assert sum(1 for _, hits in QUERIES if not hits) >= 3


def test_both_engines_return_the_same_top_five(request, tmp_path, monkeypatch):
    """Every query on SQLite and on PostgreSQL: the same five first hits, in the same order."""
    top: dict[str, dict[str, list[str]]] = {}
    for backend in ("sqlite", "postgresql"):
        with fresh_database(backend, request, tmp_path / backend) as url:
            monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path / backend / "instance"))
            app = make_test_app(url)
            with app.app_context(), app.test_request_context():
                build_corpus(Factory())
                top[backend] = {query: found(ANONYMOUS, query)[:5] for query, _ in QUERIES}
                db.session.remove()
                db.engine.dispose()
    differing = {q: (top["sqlite"][q], top["postgresql"][q]) for q in top["sqlite"]
                 if top["sqlite"][q] != top["postgresql"][q]}
    assert differing == {}


def test_a_heading_hit_ranks_before_a_body_hit(corpus):
    assert found(ANONYMOUS, "Partizipation")[0] == "5:title"


def test_the_snippet_marks_the_words_found_as_written():
    query = parse_query("Gefluchtete kurs")
    text = "Die Clearingstelle berät Geflüchtete und vermittelt Integrationskurse <b>sofort</b>."
    assert str(snippet(text, query)) == ("Die Clearingstelle berät <mark>Geflüchtete</mark> und vermittelt "
                                         "<mark>Integrationskurse</mark> &lt;b&gt;sofort&lt;/b&gt;.")


def test_the_snippet_of_several_words_shows_the_passage_where_most_of_them_stand():
    query = parse_query("Ausbildung Anerkennung")
    text = "Ausbildung im Handwerk. " + "Weitere Sätze ohne die Wörter. " * 20 + "Ausbildung und Anerkennung zusammen."
    passage = str(snippet(text, query))
    assert "<mark>Ausbildung</mark> und <mark>Anerkennung</mark>" in passage
    assert passage.startswith("… ")


def test_terms_fold_umlauts_sharp_s_and_inflections_alike():
    assert terms("Straße Geflüchteten Beratungsangebote") == terms("Strasse Gefluechtete Beratungsangebot")
    assert fold("Münsterstraße") == "munsterstrasse"


def test_a_query_of_only_exclusions_or_punctuation_finds_nothing(corpus):
    assert search(ANONYMOUS, "-Nordstadt").total == 0
    assert search(ANONYMOUS, "?! ...").total == 0


# --- permissions, in the query -----------------------------------------------------------------------

def _user(make, strategy, who):
    if who == "anonymous":
        return ANONYMOUS
    if who == "outsider":
        return make.user()
    if who == "admin":
        return make.user(admin=True)
    role = {"partner": Role.PARTNER, "coordinator": Role.COORDINATOR, "steering": Role.STEERING}[who]
    fields = (make.field(strategy, 1),) if who == "coordinator" else ()
    return make.user(role=role, strategy=strategy, fields=fields)


@pytest.mark.parametrize(("who", "finds_draft"), [
    ("anonymous", False), ("outsider", False), ("partner", False), ("coordinator", True), ("steering", True),
    ("admin", True)])
def test_a_draft_word_is_found_only_by_those_who_may_read_drafts(make, corpus, who, finds_draft):
    field = make.field(corpus, 1)
    before = field_snapshot(field)
    field.gaps = "Entwurf: Quartiersmanagerin gesucht."
    record_change(field, None, RevisionKind.EDIT, before)
    db.session.commit()
    results = search(_user(make, corpus, who), "Quartiersmanagerin", Filters(history=True))
    assert (results.total > 0) is finds_draft
    # Readers of approved content still find the approved text the draft replaced.
    if not finds_draft:
        assert found(_user(make, corpus, who), "Sprachkurse") == ["1:gaps"]


@pytest.mark.parametrize(("who", "finds"), [
    ("anonymous", False), ("partner", True), ("steering", True)])
def test_a_word_of_a_hidden_block_is_not_found(make, corpus, who, finds):
    corpus.block_visibility = {"workshop_1": "partners"}  # Vision and strategic goals: partners and up
    db.session.commit()
    user = _user(make, corpus, who)
    assert bool(found(user, "Konsens")) is finds
    # Counted nowhere either: the kinds and the total come from the same query.
    results = search(user, "Konsens Stadtgesellschaft")
    assert (results.total > 0) is finds


@pytest.mark.parametrize("visibility", [Visibility.INTERNAL, Visibility.PARTNERS])
@pytest.mark.parametrize("who", ["anonymous", "outsider", "partner_elsewhere"])
def test_a_hidden_strategy_is_never_found_nor_counted(make, client, auth, visibility, who):
    hidden = make.strategy(fields=1, visibility=visibility, slug="verborgen", title="Verborgene Strategie")
    field = make.field(hidden, 1)
    field.vision = "Geheimwort Zauberquartier"
    db.session.commit()
    make.approve(field)
    user = ANONYMOUS
    if who == "outsider":
        user = make.user()
    elif who == "partner_elsewhere":
        user = make.user(role=Role.PARTNER, strategy=make.strategy(fields=1))
    results = search(user, "Zauberquartier", Filters(history=True, strategy="verborgen"))
    assert (results.total, results.groups) == (0, [])
    if user is not ANONYMOUS:
        auth.login(user)
    page = client.get("/suche?q=Zauberquartier&verlauf=y")
    assert page.status_code == 200
    assert "Keine Treffer für „Zauberquartier“" in page.text
    assert "<mark>" not in page.text and "Verborgene Strategie" not in page.text and "verborgen" not in page.text


def test_partners_of_a_partner_strategy_find_its_approved_words(make):
    strategy = make.strategy(fields=1, visibility=Visibility.PARTNERS)
    field = make.field(strategy, 1)
    field.vision = "Zauberquartier"
    db.session.commit()
    make.approve(field)
    assert found(_user(make, strategy, "partner"), "Zauberquartier") == ["1:vision"]
    assert found(ANONYMOUS, "Zauberquartier") == []


@pytest.mark.parametrize(("who", "finds"), [("anonymous", False), ("partner", False), ("coordinator", True)])
def test_review_comments_are_found_by_those_who_read_the_review(make, corpus, who, finds):
    from strategy.review.services import add_comment

    field = make.field(corpus, 2)
    steering = make.user(role=Role.STEERING, strategy=corpus)
    with db.session.no_autoflush:
        add_comment(field, steering, "Bitte die Mietobergrenze ergänzen.", "gaps")
    db.session.commit()
    hits = search(_user(make, corpus, who), "Mietobergrenzen").hits
    assert [(h.kind.value, h.field_number) for h in hits] == ([("comment", 2)] if finds else [])


def test_history_is_searched_only_when_asked_and_only_by_draft_readers(make, corpus):
    field = make.field(corpus, 2)
    for text in ("Das Lotsenprojekt vermittelt Wohnungen.", "Die Umzugshilfe vermittelt Wohnungen."):
        before = field_snapshot(field)
        field.what_worked = text  # first written, then the Lotsenprojekt is dropped
        record_change(field, None, RevisionKind.EDIT, before)
        db.session.commit()
    coordinator = _user(make, corpus, "coordinator")
    assert found(coordinator, "Lotsenprojekt") == []  # not in the live row any more
    history = search(coordinator, "Lotsenprojekt", Filters(history=True)).hits
    assert [h.kind.value for h in history] == ["revision"]
    written = db.session.scalars(db.select(Revision).where(Revision.field_id == field.id)
                                 .order_by(Revision.id.desc())).all()[1]
    assert history[0].url == (f"/strategien/teststadt/handlungsfelder/2/verlauf/{written.id}"
                              "?markiert=Lotsenprojekt#diff-what_worked")
    # Partners read the approved row, which still has it, and never the history.
    partner = _user(make, corpus, "partner")
    hits = search(partner, "Lotsenprojekt", Filters(history=True)).hits
    assert [(h.kind.value, h.layer.value) for h in hits] == [("column", "approved")]


def test_editions_are_found_by_everyone_who_sees_the_strategy_within_their_blocks(make, corpus):
    edition = make.edition(corpus, title="Fassung Juni 2026")
    corpus.block_visibility = {"preparation": "internal"}
    db.session.commit()
    hits = search(ANONYMOUS, "Clearingstelle", Filters(history=True)).hits
    assert {(h.kind.value, h.column) for h in hits} == {("column", "strategic_goals"), ("edition", "strategic_goals")}
    edition_hit = next(h for h in hits if h.kind.value == "edition")
    assert edition_hit.edition_title == "Fassung Juni 2026"
    assert edition_hit.url.startswith(f"/strategien/teststadt/fassungen/{edition.id}/handlungsfelder/3")


# --- the index follows every change, in the same transaction -------------------------------------------

def test_a_rolled_back_change_leaves_the_index_as_it_was(make, corpus):
    field = make.field(corpus, 4)
    before = field_snapshot(field)
    field.gaps = "Schwimmkurse fehlen."
    record_change(field, None, RevisionKind.EDIT, before)
    db.session.flush()
    db.session.rollback()
    admin = make.user(admin=True)
    assert found(admin, "Schwimmkurse", history=True) == []


def test_a_change_through_the_step_service_is_found_at_once(make, corpus):
    from strategy.records.services import StepData, save_step

    field = make.field(corpus, 3)
    coordinator = _user(make, corpus, "coordinator")
    save_step(field, coordinator, StepData(description="Impfsprechstunde im Quartier anbieten"))
    db.session.commit()
    assert found(coordinator, "Impfsprechstunde") == ["3:step"]
    assert found(ANONYMOUS, "Impfsprechstunde") == []  # a draft until approved
    make.approve(field)
    assert found(ANONYMOUS, "Impfsprechstunde") == ["3:step"]


def test_reindex_rebuilds_the_same_index(make, corpus, runner):
    count = db.session.scalar(db.select(db.func.count()).select_from(SearchEntry))
    expected = {q: set(found(ANONYMOUS, q)) for q, _ in QUERIES[:10]}
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Suchindex neu aufgebaut" in result.output
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(SearchEntry)) == count
    assert {q: set(found(ANONYMOUS, q)) for q, _ in QUERIES[:10]} == expected


def test_an_archived_field_leaves_current_search_and_keeps_its_history(make, corpus):
    field = make.field(corpus, 5)
    field.is_archived = True
    db.session.commit()
    admin = make.user(admin=True)
    assert found(admin, "Integrationsrat") == []
    assert db.session.scalar(db.select(db.func.count()).select_from(Revision).where(Revision.field_id == field.id)) > 0


# --- the page ----------------------------------------------------------------------------------------

def test_the_results_page_groups_hits_by_kind_with_links_and_marks(client, corpus):
    page = client.get("/suche?q=Beratung")
    assert page.status_code == 200
    text = page.text
    assert "Spalten des Handlungsrahmens" in text and "Nächste Schritte" in text
    assert "<mark>Beratung</mark>" in text and "<mark>Beratungsangebot</mark>" in text
    assert "/strategien/teststadt/handlungsfelder/1?markiert=Beratungsangebot#col-vision" in text
    assert "Teststadt" in text


def test_a_bad_date_is_explained_next_to_the_field_and_the_input_kept(client, corpus):
    page = client.get("/suche?q=Nordstadt&von=31.02.2026&feld=x")
    assert page.status_code == 200
    assert "Bitte ein gültiges Datum angeben" in page.text
    assert "Bitte eine ganze Zahl eingeben" in page.text
    assert 'value="Nordstadt"' in page.text and 'value="31.02.2026"' in page.text


def test_a_plain_search_shows_no_filter_error_and_an_unknown_kind_is_said(client, corpus):
    plain = client.get("/suche?q=Nordstadt")
    assert 'class="form-error"' not in plain.text and "2 Treffer" in plain.text
    unknown = client.get("/suche?q=Nordstadt&art=gibtsnicht")
    assert "Diese Art gibt es nicht" in unknown.text and "2 Treffer" in unknown.text


def test_filters_narrow_by_field_kind_and_date(corpus):
    assert set(found(ANONYMOUS, "Nordstadt", field_number=2)) == {"2:current_state"}
    assert found(ANONYMOUS, "Beratung", kinds=frozenset({SearchKind.STEP})) == ["1:step"]
    tomorrow = date.today() + timedelta(days=2)
    assert found(ANONYMOUS, "Nordstadt", since=tomorrow) == []
    assert set(found(ANONYMOUS, "Nordstadt", until=tomorrow)) == {"1:gaps", "2:current_state"}


def test_the_header_offers_search_to_signed_in_readers_and_on_status_pages(client, auth, make, corpus):
    assert 'role="search"' not in client.get("/").text
    assert 'role="search"' in client.get("/strategien/teststadt/status").text
    auth.login(make.user())
    assert 'role="search"' in client.get("/").text


def test_many_hits_are_paged_and_every_page_renders(client, make):
    strategy = make.strategy(fields=1, visibility=Visibility.PUBLIC, slug="viele")
    field = make.field(strategy, 1)
    for n in range(60):
        field.next_steps.append(NextStep(description=f"Nordlicht-Runde {n}", position=n))
    db.session.commit()
    make.approve(field)
    first = client.get("/suche?q=Nordlicht")
    assert "60 Treffer" in first.text and "Seite 1 von 2" in first.text and "Nächste Seite" in first.text
    second = client.get("/suche?q=Nordlicht&seite=2")
    assert second.status_code == 200
    assert "Seite 2 von 2" in second.text and "Vorherige Seite" in second.text
    assert second.text.count('class="search-hit"') == 10


# --- a word in very many texts: counted up to a cap, the newest ranked -----------------------------------

def _nordlicht_field(make, strategy, number, steps):
    field = make.field(strategy, number)
    for n in range(steps):
        field.next_steps.append(NextStep(description=f"Nordlicht-Runde {number}.{n}", position=n))
    db.session.commit()
    make.approve(field)
    return field


@pytest.fixture
def cap_of_five(monkeypatch):
    monkeypatch.setattr("strategy.search.services.COUNT_CAP", 5)


def test_more_hits_than_the_cap_are_counted_as_more_than_the_cap_and_the_newest_ranked(make, cap_of_five):
    strategy = make.strategy(fields=2, visibility=Visibility.PUBLIC, slug="viele")
    _nordlicht_field(make, strategy, 1, 4)
    _nordlicht_field(make, strategy, 2, 4)  # approved later: its steps are the newer hits
    results = search(ANONYMOUS, "Nordlicht")
    assert (results.capped, results.total, results.pages) == (True, 5, 1)
    assert [(g.kind, g.count) for g in results.groups] == [(SearchKind.STEP, 5)]
    newest = db.session.scalars(
        db.select(SearchEntry.id).where(SearchEntry.layer == "approved", SearchEntry.body.contains("Nordlicht"))
        .order_by(SearchEntry.occurred_at.desc(), SearchEntry.id.desc()).limit(5)).all()
    shown = {hit.url for hit in results.hits}
    assert len(shown) == 5
    assert {e.source_id for e in db.session.scalars(db.select(SearchEntry).where(SearchEntry.id.in_(newest)))} == {
        int(url.split("#schritt-")[1]) for url in shown}


def test_up_to_the_cap_every_hit_is_counted_exactly(make, cap_of_five):
    strategy = make.strategy(fields=1, visibility=Visibility.PUBLIC, slug="viele")
    _nordlicht_field(make, strategy, 1, 5)
    results = search(ANONYMOUS, "Nordlicht")
    assert (results.capped, results.total) == (False, 5)


def test_hidden_rows_take_no_place_under_the_cap(make, cap_of_five):
    """Permissions are part of the capped query: a hidden strategy's many hits neither fill the cap nor
    are counted."""
    hidden = make.strategy(fields=1, visibility=Visibility.INTERNAL, slug="verborgen")
    _nordlicht_field(make, hidden, 1, 8)
    visible = make.strategy(fields=1, visibility=Visibility.PUBLIC, slug="offen")
    _nordlicht_field(make, visible, 1, 3)
    results = search(ANONYMOUS, "Nordlicht")
    assert (results.capped, results.total) == (False, 3)
    assert {hit.strategy_slug for hit in results.hits} == {"offen"}
    assert search(make.user(admin=True), "Nordlicht").capped


def test_the_page_says_more_than_the_cap(client, make, cap_of_five):
    strategy = make.strategy(fields=1, visibility=Visibility.PUBLIC, slug="viele")
    _nordlicht_field(make, strategy, 1, 7)
    page = client.get("/suche?q=Nordlicht")
    assert "Mehr als 5 Treffer für „Nordlicht“" in page.text
    assert "die 5 neuesten" in page.text
    assert page.text.count('class="search-hit"') == 5


def test_the_page_says_more_than_the_cap_in_english(client, make, cap_of_five):
    strategy = make.strategy(fields=1, visibility=Visibility.PUBLIC, slug="viele")
    _nordlicht_field(make, strategy, 1, 7)
    client.get("/sprache/en")
    page = client.get("/suche?q=Nordlicht")
    assert "More than 5 hits for “Nordlicht”" in page.text
    assert "The 5 newest are counted" in page.text
