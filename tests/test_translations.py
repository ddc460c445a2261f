"""The English catalogue is complete, consistent with the code and compiled.

Every test here fails as soon as a developer adds a UI string and does not run
`./scripts/update-translations` and fill in the English text (or forgets to commit the .mo).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from strategy.extensions import db
from strategy.models import FinancingItem, Revision, RevisionKind, Role, Visibility
from strategy.records.forms import parse_decimal
from strategy.summaries import revision_summary, summary

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE_DIR = ROOT / "strategy" / "translations"
PO_PATH = CATALOGUE_DIR / "en" / "LC_MESSAGES" / "messages.po"
MO_PATH = CATALOGUE_DIR / "en" / "LC_MESSAGES" / "messages.mo"
# The same keywords as scripts/update-translations passes to `pybabel extract` (the defaults _, gettext,
# ngettext ... are always included).
EXTRA_KEYWORDS = ("_l", "lazy_gettext")
PLACEHOLDER = re.compile(r"%(?:\([A-Za-z_][A-Za-z0-9_]*\))?[-#0+]*\d*(?:\.\d+)?[sdifrx%]")


def _load_po(path: Path = PO_PATH) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _messages(catalog: Catalog) -> list:
    return [message for message in catalog if message.id]


def _strings(message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (message.string,)


def _ids(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)


def _placeholders(text: str) -> set[str]:
    return {match for match in PLACEHOLDER.findall(text or "") if match != "%%"}


def untranslated(catalog: Catalog) -> list[str]:
    """The ids of messages with an empty translation (any plural form) or a fuzzy flag."""
    return [_ids(message)[0] for message in _messages(catalog)
            if message.fuzzy or not all(string.strip() for string in _strings(message))]


def placeholder_mismatches(catalog: Catalog) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs whose %(name)s / %d placeholders differ.

    The singular form of a plural message may leave out the number ("last week" for "letzte Woche"), but it must not
    introduce a placeholder the German text does not have.
    """
    problems = []
    for message in _messages(catalog):
        ids, strings = _ids(message), _strings(message)
        wanted = set().union(*(_placeholders(text) for text in ids))
        for index, string in enumerate(strings):
            found = _placeholders(string)
            singular_of_plural = len(ids) > 1 and index == 0
            if found - wanted or (not singular_of_plural and found != wanted):
                problems.append((ids[0], string))
    return problems


def extract_messages(tmp_path: Path) -> Catalog:
    """Run `pybabel extract` over the code and templates exactly like scripts/update-translations."""
    pot = tmp_path / "messages.pot"
    argv = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "--no-location", "--sort-output",
            "-o", str(pot)]
    for keyword in EXTRA_KEYWORDS:
        argv += ["-k", keyword]
    argv.append(str(ROOT))
    CommandLineInterface().run(argv)
    return _load_po(pot)


def _key(message) -> tuple[str | None, tuple[str, ...]]:
    """What identifies a message: its context (pgettext) and its id with the plural form."""
    return message.context, _ids(message)


def missing_from(catalog: Catalog, extracted: Catalog) -> list[str]:
    """The extracted message ids (plural forms and contexts included) that the catalogue lacks."""
    known = {_key(message) for message in _messages(catalog)}
    return sorted(_ids(message)[0] for message in _messages(extracted) if _key(message) not in known)


# --- the real catalogue ---------------------------------------------------------------------------------------------

def test_catalogue_is_not_empty_and_english():
    catalog = _load_po()
    assert str(catalog.locale) == "en"
    assert len(_messages(catalog)) > 100


def test_every_message_has_an_english_translation_and_none_is_fuzzy():
    assert untranslated(_load_po()) == []


def test_translations_keep_the_placeholders_of_the_german_text():
    assert placeholder_mismatches(_load_po()) == []


def test_plural_messages_have_both_english_forms():
    catalog = _load_po()
    assert catalog.num_plurals == 2
    for message in _messages(catalog):
        if message.pluralizable:
            assert len(_strings(message)) == 2, message.id


def test_compiled_catalogue_matches_the_po_file(tmp_path):
    """The committed .mo is what `pybabel compile` makes of the committed .po."""
    CommandLineInterface().run(["pybabel", "-q", "compile", "-d", str(CATALOGUE_DIR), "-D", "messages", "-l", "en",
                                "-i", str(PO_PATH), "-o", str(tmp_path / "fresh.mo")])
    with (tmp_path / "fresh.mo").open("rb") as handle:
        fresh = {_key(message): _strings(message) for message in _messages(read_mo(handle))}
    with MO_PATH.open("rb") as handle:
        committed = {_key(message): _strings(message) for message in _messages(read_mo(handle))}
    assert fresh, "compiling the .po produced no messages"
    stale = sorted(str(key) for key in set(fresh) ^ set(committed)
                   | {key for key in set(fresh) & set(committed) if fresh[key] != committed[key]})
    assert stale == [], "run ./scripts/update-translations and commit messages.mo"


def test_every_string_in_the_code_is_in_the_catalogue(tmp_path):
    extracted = extract_messages(tmp_path)
    assert len(_messages(extracted)) > 100
    assert missing_from(_load_po(), extracted) == [], "run ./scripts/update-translations and translate the new strings"


def test_the_english_ui_uses_the_catalogue(client):
    """Choosing EN turns the login page English (the catalogue is found and loaded by Flask-Babel)."""
    client.get("/sprache/en")
    page = client.get("/anmelden").get_data(as_text=True)
    assert 'lang="en"' in page
    assert "Passwort" not in page
    assert "Password" in page


# --- the checks themselves catch what they are meant to catch ------------------------------------------------------

def test_checks_report_a_new_untranslated_string_a_fuzzy_one_and_a_lost_placeholder():
    catalog = _load_po()
    catalog.add("Ein ganz neuer Satz.", "")
    catalog.add("Neu übersetzt für %(name)s", "Newly translated", flags=["python-format"])
    catalog.add(("%(num)d Ding", "%(num)d Dinge"), ("one thing", "%(num)d things"))
    catalog.add("Unsicher", "Unsure", flags=["fuzzy"])
    assert set(untranslated(catalog)) == {"Ein ganz neuer Satz.", "Unsicher"}
    assert placeholder_mismatches(catalog) == [("Neu übersetzt für %(name)s", "Newly translated")]


def test_missing_from_reports_an_extracted_string_the_catalogue_lacks():
    catalog = _load_po()
    extracted = Catalog(locale="en")
    extracted.add(_messages(catalog)[0].id)
    extracted.add("Gerade im Code hinzugefügt")
    extracted.add(_messages(catalog)[0].id, context="ein neuer Zusammenhang")
    assert missing_from(catalog, extracted) == sorted(["Gerade im Code hinzugefügt", _ids(_messages(catalog)[0])[0]])


@pytest.mark.parametrize("text, expected", [
    ("%(num)d Felder", {"%(num)d"}),
    ("%(name)s: %(value)s", {"%(name)s", "%(value)s"}),
    ("100 % sicher", set()),
    ("50 %% Anteil", set()),
])
def test_placeholders_are_recognised(text, expected):
    assert _placeholders(text) == expected


# --- stored German, shown in the reader's language ----------------------------------------------------------------

def test_review_summaries_are_stored_in_german_and_shown_in_english(client, auth, make):
    """A steering member reading English returns a field: the history keeps German, English readers see English."""
    strategy = make.strategy(fields=1)
    field = make.field(strategy, 1)
    coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(field,))
    steering = make.user(role=Role.STEERING, strategy=strategy)
    base = f"/strategien/{strategy.slug}/handlungsfelder/1"
    auth.login(coordinator)
    client.get("/sprache/en")
    client.post(f"{base}/pruefung/einreichen")
    auth.logout()
    auth.login(steering)
    client.get("/sprache/en")
    client.post(f"{base}/pruefung/zurueckgeben", data={"comment": "Bitte Quellen ergänzen."})

    summaries = list(db.session.scalars(db.select(Revision.summary).filter_by(
        field_id=field.id, kind=RevisionKind.REVIEW).order_by(Revision.id)))
    assert summaries == ["Zur Prüfung eingereicht", "Zurückgegeben: Bitte Quellen ergänzen."]
    history = client.get(f"{base}/verlauf").get_data(as_text=True)
    assert "Submitted for review" in history and "Returned: Bitte Quellen ergänzen." in history
    assert "Zurückgegeben" not in history
    client.get("/sprache/de")
    assert "Zurückgegeben: Bitte Quellen ergänzen." in client.get(f"{base}/verlauf").get_data(as_text=True)


@pytest.mark.parametrize("meaning, german, english", [
    (summary("step_added", what="Kurse planen"), "Schritt hinzugefügt: Kurse planen", "Step added: Kurse planen"),
    (summary("value_recorded", what="Teilnehmende", day="2026-03-31"), "Wert erfasst: Teilnehmende (31.03.2026)",
     "Value recorded: Teilnehmende (31 Mar 2026)"),
    (summary("restored", when="2026-11-25T17:32:00+00:00"), "Stand vom 25.11.26, 18:32 wiederhergestellt",
     "Version of 25/11/2026, 18:32 restored"),
    (summary("approved"), "Freigegeben", "Approved"),
    (summary("financing_changed", what="ESF Plus"), "Finanzierungsposten geändert: ESF Plus",
     "Financing item changed: ESF Plus"),
])
def test_a_revision_summary_is_stored_as_meaning_and_read_in_the_readers_language(app, meaning, german, english):
    revision = Revision(summary_key=meaning.key, summary_args=dict(meaning.args), summary=meaning.stored_text())
    with app.test_request_context(), force_locale("en_GB"):
        assert revision_summary(revision) == english
    with app.test_request_context(), force_locale("de"):
        assert revision_summary(revision) == german


@pytest.mark.parametrize("stored", ["Schritt hinzugefügt: Kurse planen", "Ein frei formulierter Satz: bleibt", ""])
def test_a_revision_from_before_summary_keys_reads_as_its_stored_text(app, stored):
    with app.test_request_context(), force_locale("en_GB"):
        assert revision_summary(Revision(summary=stored)) == stored


def test_english_pages_use_british_dates_and_keep_lang_en(client, make):
    strategy = make.strategy(fields=1, visibility=Visibility.PUBLIC)
    make.approve(make.field(strategy, 1))
    client.get("/sprache/en")
    html = client.get(f"/strategien/{strategy.slug}/status").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert re.search(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b", html)  # 25 Nov 2026
    assert not re.search(r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b", html)  # not Nov 25, 2026


# --- numbers as English readers write them ------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("12,500.50", "12500.50"), ("1,250", "1250"), ("22.5 %", "22.5"), ("250,000 €", "250000"), ("1.25", "1.25"),
])
def test_numbers_are_read_as_english_readers_write_them(text, expected):
    assert parse_decimal(text, english=True) == Decimal(expected)


def test_an_english_reader_records_an_amount_with_thousands_commas_and_sees_it_back_with_a_point(client, auth, make):
    strategy = make.strategy(fields=1)
    field = make.field(strategy, 1)
    auth.login(make.user(role=Role.COORDINATOR, strategy=strategy, fields=(field,)))
    client.get("/sprache/en")
    form = {"source": "esf_plus", "programme": "Willkommen Europa", "amount": "12,500.50",
            "start_date": "2025-01-01", "end_date": "2027-12-31", "status": "secured", "note": ""}
    url = f"/strategien/{strategy.slug}/handlungsfelder/1"
    client.post(url + "/finanzierung", data={f"finanzierung-neu-{key}": value for key, value in form.items()})
    assert db.session.scalar(db.select(FinancingItem.amount)) == Decimal("12500.50")
    assert 'value="12500.5"' in client.get(url).get_data(as_text=True)
