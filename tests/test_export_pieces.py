"""The piece cache of the framework export: pieces are stored by what they are made of, so after one field
changes (or an edition is made after one approval) only the pieces holding that field render again, and
the document joined from stored and fresh pieces reads exactly as one rendered afresh. PDFs are rendered
for real and read back with poppler (pdftotext, pdftoppm); renders are counted as rows of the piece table."""
from __future__ import annotations

import re
import subprocess
from datetime import timedelta

import pytest

from strategy.exports import services
from strategy.extensions import db
from strategy.models import ExportCache, ExportPiece, Role, utcnow
from tests.support.factories import Factory


@pytest.fixture
def app_config() -> dict:
    # The test machine is shared and busy; the production limit (two minutes) is not what these tests check.
    return {"PDF_RENDER_TIMEOUT": 900}


# --- helpers -------------------------------------------------------------------------------------

def pages_of(pdf: bytes, tmp_path, name: str) -> list[str]:
    """The text of each page as pdftotext reads it (stamped page numbers and running header included)."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode()
    return text.split("\f")[:-1]


def squash(text: str) -> str:
    """Text without white space and hyphens, so words broken across lines compare equal."""
    return re.sub(r"[\s\-‐­]+", "", text)


def pieces() -> dict[str, ExportPiece]:
    db.session.expire_all()
    return {piece.key: piece for piece in db.session.scalars(db.select(ExportPiece))}


def body_anchors(rows) -> set[str]:
    """The rows held by body pieces ("hf-<field>-<part>"); the front's stubs name every row, so it is left
    out (it alone lays out no labelled table row)."""
    return {anchor for piece in rows if piece.layout["row_tops"] for anchor in piece.layout["anchors"]}


def forget_rendered() -> None:
    db.session.execute(db.delete(ExportCache))
    db.session.execute(db.delete(ExportPiece))
    db.session.commit()


def fill(strategy, make: Factory, fields: int) -> None:
    for number in range(1, fields + 1):
        field = make.field(strategy, number)
        field.title = f"Feldtitel {number}"
        field.current_state = "\n\n".join(f"Stand {number}.{i}: Beratung und Teilhabe verlässlich sichern."
                                          for i in range(6))
        field.vision = f"Vision {number}: gemeinsam gestalten."
        field.future_challenges = f"Herausforderung {number}: Zugänge öffnen."
    db.session.commit()


def assert_reads_as_one_document(pages: list[str]) -> None:
    """Page numbers run on from the front through every piece; the contents name pages that hold the row."""
    total = len(pages)
    assert "Seite" not in pages[0]  # the cover
    for number, text in enumerate(pages[1:], start=2):
        assert text.count(f"Seite {number} von {total}") == 1, number
    for found in re.finditer(r"(\d+)\s+Feldtitel \1\s+(\d+)\s+(\d+)", pages[1]):
        field, *at = found.groups()
        for page in map(int, at):
            assert f"{field}. Feldtitel {field}" in pages[page - 1]


# --- after one field changes ---------------------------------------------------------------------

def test_after_one_field_changes_only_the_pieces_holding_it_render_again(app, client, auth, make, tmp_path):
    app.config["PDF_PIECE_FIELDS"] = 2  # 5 fields: pieces of fields 1–2, 3–4 and 5 in each part
    strategy = make.strategy(fields=5)
    fill(strategy, make, 5)
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    url = f"/strategien/{strategy.slug}/handlungsrahmen.pdf"
    before_pdf = client.get(url).data
    before = pieces()
    # the front (draft and numbered), the page-number sheet and 2 parts × 3 runs of rows
    assert len(before) == 3 + 6
    assert body_anchors(before.values()) == {f"hf-{n}-{p}" for n in range(1, 6) for p in (1, 2)}

    field = make.field(strategy, 3)
    field.current_state += "\n\nNeu: Sprechstunde im Quartier eingerichtet."  # a column of part A only
    db.session.commit()
    response = client.get(url)
    assert response.headers["X-Export-Cache"] == "miss"
    after = pieces()
    new = [piece for key, piece in after.items() if key not in before]
    # the run holding fields 3 and 4 in part A, nothing else: the front and the sheet read as before
    # (same day, same pages), part B and the other runs of part A did not change
    assert body_anchors(new) == {"hf-3-1", "hf-4-1"}
    before_pages, after_pages = pages_of(before_pdf, tmp_path, "before"), pages_of(response.data, tmp_path, "after")
    assert len(new) == (1 if after_pages[0] == before_pages[0] else 3)  # the cover names the day of the last change

    text = squash("".join(after_pages))
    assert squash("Neu: Sprechstunde im Quartier eingerichtet.") in text
    for number in range(1, 6):
        for words in (f"Stand {number}.5: Beratung und Teilhabe verlässlich sichern.",
                      f"Vision {number}: gemeinsam gestalten.", f"Herausforderung {number}: Zugänge öffnen."):
            assert squash(words) in text
    assert_reads_as_one_document(after_pages)

    # joined from stored and fresh pieces, it reads exactly as the same content rendered afresh
    forget_rendered()
    assert pages_of(client.get(url).data, tmp_path, "fresh") == after_pages


def test_a_new_title_renders_its_pieces_in_both_parts_and_the_front_again(app, client, auth, make, tmp_path):
    app.config["PDF_PIECE_FIELDS"] = 2
    strategy = make.strategy(fields=5)
    fill(strategy, make, 5)
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    url = f"/strategien/{strategy.slug}/handlungsrahmen.pdf"
    client.get(url)
    before = pieces()
    field = make.field(strategy, 5)
    field.title = "Ganz neuer Titel"
    db.session.commit()
    response = client.get(url)
    new = [piece for key, piece in pieces().items() if key not in before]
    assert body_anchors(new) == {"hf-5-1", "hf-5-2"}
    # the contents list the title (draft and numbered front), the sheet names it in the running header
    assert len(new) == 2 + 3
    pages = pages_of(response.data, tmp_path, "titled")
    assert "Ganz neuer Titel" in pages[1] and "Feldtitel 5" not in "".join(pages)
    assert_reads_as_one_document(pages)


def test_the_joined_pages_render_to_png(app, client, auth, make, tmp_path):
    app.config["PDF_PIECE_FIELDS"] = 1
    strategy = make.strategy(fields=3)
    fill(strategy, make, 3)
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    url = f"/strategien/{strategy.slug}/handlungsrahmen.pdf"
    client.get(url)
    field = make.field(strategy, 2)
    field.vision = "Eine geänderte Vision für das zweite Feld."
    db.session.commit()
    path = tmp_path / "framework.pdf"
    path.write_bytes(client.get(url).data)
    for page in (3, 4):  # a stored piece (field 1, part A) and the fresh one (field 2, part A)
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", str(page), "-l", str(page), "-singlefile", str(path),
                        str(tmp_path / f"page-{page}")], check=True, timeout=60)
        png = (tmp_path / f"page-{page}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000, page


# --- editions ------------------------------------------------------------------------------------

def test_an_edition_after_one_approval_renders_only_the_pieces_of_the_approved_field(app, client, auth, make,
                                                                                      tmp_path):
    app.config["PDF_PIECE_FIELDS"] = 2
    strategy = make.strategy(fields=5)
    fill(strategy, make, 5)
    make.approve(*[make.field(strategy, n) for n in range(1, 6)])
    auth.login(make.user(role=Role.PARTNER, strategy=strategy))
    base = f"/strategien/{strategy.slug}"
    first = make.edition(strategy, "Fassung Mai 2026")
    client.get(f"{base}/fassungen/{first.id}/handlungsrahmen.pdf")
    before = pieces()

    field = make.field(strategy, 4)
    field.future_challenges = "Herausforderung 4: neu gefasst nach dem Workshop."  # a column of part B only
    db.session.commit()
    make.approve(field)
    second = make.edition(strategy, "Fassung Juni 2026")
    response = client.get(f"{base}/fassungen/{second.id}/handlungsrahmen.pdf")
    new = [piece for key, piece in pieces().items() if key not in before]
    assert body_anchors(new) == {"hf-3-2", "hf-4-2"}
    # the edition's title and date are on the cover and in the stamped strategy line, not in the pieces
    assert len(new) == 1 + 3
    pages = pages_of(response.data, tmp_path, "second")
    text = squash("".join(pages))
    assert squash("Herausforderung 4: neu gefasst nach dem Workshop.") in text
    assert squash("Herausforderung 3: Zugänge öffnen.") in text and "Fassung Juni 2026" in pages[0]
    assert all("Fassung Juni 2026" in page for page in pages[2:])  # the strategy line on every table page
    assert_reads_as_one_document(pages)

    # the same edition always gives the same text, from stored pieces or rendered afresh
    forget_rendered()
    assert pages_of(client.get(f"{base}/fassungen/{second.id}/handlungsrahmen.pdf").data, tmp_path, "again") == pages


def test_an_edition_of_the_approved_state_reuses_the_approved_frameworks_pieces(app, client, auth, make):
    strategy = make.strategy(fields=3)
    fill(strategy, make, 3)
    make.approve(*[make.field(strategy, n) for n in range(1, 4)])
    auth.login(make.user(role=Role.PARTNER, strategy=strategy))
    base = f"/strategien/{strategy.slug}"
    client.get(f"{base}/handlungsrahmen.pdf")  # partners read the approved state
    before = pieces()
    edition = make.edition(strategy, "Fassung Juli 2026")
    client.get(f"{base}/fassungen/{edition.id}/handlungsrahmen.pdf")
    new = [piece for key, piece in pieces().items() if key not in before]
    assert body_anchors(new) == set()  # only the front and the sheet, which name the edition
    assert len(new) == 3


# --- pruning -------------------------------------------------------------------------------------

def test_pieces_unused_for_long_are_pruned_and_the_cache_stays_under_its_size(app, client, auth, make):
    app.config["PDF_PIECE_FIELDS"] = 1
    strategy = make.strategy(fields=3)
    fill(strategy, make, 3)
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    client.get(f"/strategien/{strategy.slug}/handlungsrahmen.pdf")
    stored = sorted(pieces().values(), key=lambda piece: piece.id)
    old, *rest = stored
    old.last_used_at = utcnow() - timedelta(days=31)
    for age, piece in enumerate(rest):  # the others used one after another, the last one most recently
        piece.last_used_at = utcnow() - timedelta(hours=len(rest) - age)
    db.session.commit()
    old_key, newest_key, newest_size = old.key, rest[-1].key, rest[-1].size
    with app.test_request_context():
        assert services.prune_pieces() == 1  # unused for more than PDF_PIECE_KEEP_DAYS (30)
        db.session.commit()
    assert old_key not in pieces()
    app.config["PDF_PIECE_CACHE_MB"] = (newest_size + 1) / (1024 * 1024)  # room for the last one used only
    with app.test_request_context():
        assert services.prune_pieces() == len(rest) - 1
        db.session.commit()
    assert list(pieces()) == [newest_key]


def test_without_the_piece_cache_every_piece_renders_and_nothing_is_stored(app, client, auth, make, tmp_path):
    app.config["PDF_PIECE_CACHE"] = False
    strategy = make.strategy(fields=2)
    fill(strategy, make, 2)
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    pages = pages_of(client.get(f"/strategien/{strategy.slug}/handlungsrahmen.pdf").data, tmp_path, "plain")
    assert not pieces()
    assert_reads_as_one_document(pages)
