"""PDF exports: content, layout, permissions, safety and caching of the framework, dossiers, editions and
change reports. PDFs are rendered for real (WeasyPrint in the renderer processes) and read back with pypdf
and poppler."""
from __future__ import annotations

import io
import multiprocessing
import re
import runpy
import subprocess
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from strategy import PROJECT_ROOT
from strategy.exports import pdf, services
from strategy.extensions import db
from strategy.models import (
    Edition,
    ExportCache,
    FinancingItem,
    FundingSource,
    FundingStatus,
    NextStep,
    Role,
    StepStatus,
    Visibility,
    WorkingGroup,
)
from tests.support.factories import Factory

DEMO = "/strategien/dortmund-neuzuwanderung"


@pytest.fixture
def app_config() -> dict:
    # The test machine is shared and busy; the production limit (two minutes) is not what these tests check.
    return {"PDF_RENDER_TIMEOUT": 900}


# --- helpers -------------------------------------------------------------------------------------

def reader(response) -> PdfReader:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.data))


def squash(text: str) -> str:
    """Text without white space and hyphens, so words broken across lines compare equal."""
    return re.sub(r"[\s\-‐­]+", "", text)


def pdf_text(document: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in document.pages)


def words_of(markdown: str) -> list[str]:
    return [w for w in re.findall(r"[\wÄÖÜäöüß*]+", markdown) if len(w) > 2]


def edition_of(strategy, title="Fassung März 2026", decided_on=date(2026, 3, 3)) -> Edition:
    return Factory().edition(strategy, title, decided_on)


def urls(strategy, edition=None, number=1) -> dict[str, str]:
    base = f"/strategien/{strategy.slug}"
    found = {
        "framework": f"{base}/handlungsrahmen.pdf",
        "framework_a4": f"{base}/handlungsrahmen.pdf?format=a4",
        "dossier": f"{base}/handlungsfelder/{number}/dossier.pdf",
    }
    if edition is not None:
        found["edition"] = f"{base}/fassungen/{edition.id}/handlungsrahmen.pdf"
        found["changes"] = f"{base}/fassungen/{edition.id}/aenderungen.pdf"
    return found


# --- content -------------------------------------------------------------------------------------

def test_framework_shows_every_field_title_and_every_word_of_its_row(client, auth, demo):
    auth.login("lenkung@demo.dortmund.example", "Demo-Zugang-2026")
    text = squash(pdf_text(reader(client.get(f"{DEMO}/handlungsrahmen.pdf"))))
    for field in demo.fields:
        assert squash(field.title) in text
        for column in ("goal_text", "current_state", "vision", "strategic_goals", "what_worked", "gaps"):
            missing = [w for w in words_of(getattr(field, column) or "") if squash(w) not in text]
            assert not missing, (field.number, column, missing[:5])
        for step in field.next_steps:
            assert squash(step.description) in text


def test_framework_has_metadata_cover_contents_and_german_typography(client, auth, demo):
    auth.login("lenkung@demo.dortmund.example", "Demo-Zugang-2026")
    document = reader(client.get(f"{DEMO}/handlungsrahmen.pdf"))
    meta = document.metadata
    assert "Gesamtstrategie Neuzuwanderung" in meta.title
    assert meta.author
    assert meta.creation_date is not None
    assert document.trailer["/Root"].get("/Lang") == "de"
    assert "/StructTreeRoot" in document.trailer["/Root"]  # tagged (PDF/UA)
    cover, contents = document.pages[0].extract_text(), document.pages[1].extract_text()
    assert "Entwurf – Stand" in cover
    assert "Inhalt" in contents and "Teil A" in contents
    # contents lists every field with the page its row starts on
    assert re.search(r"Konsens für Partizipation\s*\d+\s*\d+", contents)
    text = pdf_text(document)
    assert "Neuzuwander*innen" in text and "„Migrant*innen stark organisiert“" in text


def test_field_dossier_holds_the_whole_row_of_that_field_only(client, auth, demo, make):
    auth.login("lenkung@demo.dortmund.example", "Demo-Zugang-2026")
    document = reader(client.get(f"{DEMO}/handlungsfelder/4/dossier.pdf"))
    text = squash(pdf_text(document))
    field4, field5 = demo.fields[3], demo.fields[4]
    assert squash(field4.title) in text and squash(field4.goal_text) in text
    for column in ("current_state", "vision", "strategic_goals", "future_challenges", "what_worked", "gaps"):
        assert all(squash(w) in text for w in words_of(getattr(field4, column) or ""))
    assert squash("Güntürk") in text  # coordinator
    assert squash(field5.title) not in text
    assert document.pages[0].mediabox.width < document.pages[0].mediabox.height  # portrait


def test_dossier_draws_indicator_charts_as_vector_graphics(client, auth, demo):
    field = next(f for f in demo.fields if f.indicators)
    auth.login("lenkung@demo.dortmund.example", "Demo-Zugang-2026")
    document = reader(client.get(f"{DEMO}/handlungsfelder/{field.number}/dossier.pdf"))
    text = pdf_text(document)
    assert squash(field.indicators[0].name) in squash(text)
    # the chart's own text: y-axis ticks, each a line of its own (the value tables never print bare ticks)
    assert {"0", "20", "40", "60"} <= {line.strip() for line in text.splitlines()}


def test_long_row_continues_with_repeated_header_field_name_and_page_numbers(client, auth, make):
    strategy = make.strategy(fields=2)
    field = make.field(strategy, 1)
    field.title = "Zugang zu Arbeit"
    field.current_state = "\n\n".join(f"Absatz {i}: " + "Beschäftigung und Qualifizierung gemeinsam sichern. " * 40
                                      for i in range(40))
    db.session.commit()
    steering = make.user(role=Role.STEERING, strategy=strategy)
    auth.login(steering)
    document = reader(client.get(f"/strategien/{strategy.slug}/handlungsrahmen.pdf"))
    pages = [page.extract_text() for page in document.pages]
    total = len(pages)
    assert total >= 5
    for number, text in enumerate(pages[1:], start=2):
        assert f"Seite {number} von {total}" in text
    table_a = [text for text in pages[2:] if "Absatz" in text]
    assert len(table_a) >= 2
    for text in table_a:
        assert "Thema" in text and "Ausgangslage / IST" in text  # header repeats on each page
        assert "1. Zugang zu Arbeit" in text  # the field is named again on continuation pages


def test_a_row_keeps_its_head_together_and_is_marked_where_it_continues(app, client, auth, make):
    """Checked page by page on a framework rendered in pieces (the header counts pages across them)."""
    app.config["PDF_PIECE_TEXT_BUDGET"] = 3000
    strategy = make.strategy(fields=3)
    for number in (1, 2, 3):
        field = make.field(strategy, number)
        field.title = f"Teilhabe sichern {number}"
        field.goal_text = f"Ziel {number}: " + "Alle finden ihren Platz in der Stadtgesellschaft. " * 8
        field.current_state = "\n\n".join(f"Absatz {number}.{i}: " + "Beratung verlässlich sichern. " * 30
                                          for i in range(14))
    db.session.commit()
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    pages = [page.extract_text() for page in reader(client.get(f"/strategien/{strategy.slug}/handlungsrahmen.pdf")).pages]
    for number in (1, 2, 3):
        name = f"{number}. Teilhabe sichern {number}"
        first, *rest = [index for index, text in enumerate(pages) if f"Absatz {number}." in text]
        assert rest, "the row must run over more than one page for this test"
        assert name in pages[first] and f"{name} (Fortsetzung)" not in pages[first]
        # the head: the name with the first lines of its goal, never the name alone at a page's foot
        assert squash(f"{name} Vorbereitungsphase Ziel {number}: Alle finden ihren Platz in der") in squash(
            pages[first])
        for index in rest:
            assert f"{name} (Fortsetzung)" in pages[index], index + 1
    # Part B's pages name their own top rows: a row that begins at the top of a page is not "continued".
    part_b = next(index for index, text in enumerate(pages) if text.startswith("Teil B"))
    assert "1. Teilhabe sichern 1" in pages[part_b] and "(Fortsetzung)" not in pages[part_b]


def struct_elements(element):
    """The structure elements under `element`, itself included."""
    element = element.get_object()
    yield element
    kids = element.get("/K")
    for kid in (kids if isinstance(kids, list) else [kids]):
        if kid is not None and hasattr(kid, "get_object") and isinstance(kid.get_object(), dict) \
                and kid.get_object().get("/Type") not in ("/OBJR", "/MCR"):
            yield from struct_elements(kid)


def test_framework_rendered_in_pieces_reads_as_one_document(app, client, auth, make):
    """Pieces are rendered side by side and joined: one page numbering, contents that name the right pages,
    links and bookmarks that lead there, and one structure tree over every page."""
    app.config["PDF_PIECE_TEXT_BUDGET"] = 3000  # each field's row is a piece of its own in both parts
    strategy = make.strategy(fields=3, title='Strategie "Zukunft"; } @page { content: "x" } </style>')
    for number in (1, 2, 3):
        field = make.field(strategy, number)
        field.title = f"Feldtitel {number}"
        field.current_state = "\n\n".join(f"Stand {number}.{i}: " + "Beratung und Teilhabe verlässlich sichern. " * 30
                                          for i in range(number * 4))
        field.future_challenges = f"Herausforderung {number} " + "Zugänge öffnen. " * 60
    db.session.commit()
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    document = reader(client.get(f"/strategien/{strategy.slug}/handlungsrahmen.pdf"))
    pages = [page.extract_text() for page in document.pages]
    total = len(pages)
    assert "Seite" not in pages[0]  # the cover
    for number, text in enumerate(pages[1:], start=2):
        assert text.count(f"Seite {number} von {total}") == 1, number
    # the user's title is printed as text in the running footer, not read as CSS
    assert 'Strategie "Zukunft"; } @page { content: "x" } </style>' in pages[2]
    contents = pages[1]
    dests = document.named_destinations
    for number in (1, 2, 3):
        found = re.search(rf"{number}\s*Feldtitel {number}\s*(\d+)\s*(\d+)", contents)
        assert found, contents
        for part, page in zip((1, 2), map(int, found.groups()), strict=True):
            assert f"{number}. Feldtitel {number}" in pages[page - 1]
            assert ("Ausgangslage" if part == 1 else "Zukünftige Herausforderungen") in pages[page - 1]
            assert document.get_destination_page_number(dests[f"hf-{number}-{part}"]) == page - 1
    links = [a.get_object() for a in document.pages[1]["/Annots"]]
    assert {str(link["/Dest"]) for link in links} == {f"hf-{n}-{p}" for n in (1, 2, 3) for p in (1, 2)}
    titles = [item.title for item in document.outline if not isinstance(item, list)]
    assert titles.count(next(t for t in titles if t.startswith("Teil A"))) == 1
    assert sum("(Fortsetzung)" in t for t in titles) == 4  # fields 2 and 3 continue each part
    tree = document.trailer["/Root"]["/StructTreeRoot"]
    assert len(tree["/K"]) == 1 and tree["/K"][0].get_object()["/S"] == "/Document"
    elements = list(struct_elements(tree["/K"][0]))
    assert {document.get_page_number(e["/Pg"].get_object()) for e in elements if "/Pg" in e} == set(range(total))
    # table headers say what they label: their column (table head) or their row (the field's name)
    assert {e["/A"]["/Scope"] for e in elements if e["/S"] == "/TH"} == {"/Column", "/Row"}
    keys = [page["/StructParents"] for page in document.pages]
    assert keys == list(range(total))
    nums = tree["/ParentTree"]["/Nums"]
    assert tree["/ParentTreeNextKey"] == len(nums) // 2 == total + len(links)
    for link in links:  # each link annotation points back to its own structure element
        element = nums[2 * link["/StructParent"] + 1].get_object()
        assert element["/S"] == "/Link"
    for page in document.pages[1:]:  # the stamped page number is an artifact, outside the structure
        assert b"/Artifact <</Type /Pagination>> BDC" in page.get_contents().get_data()


def test_untagged_framework_joins_without_a_structure_tree(app, client, auth, demo):
    app.config["PDF_VARIANT"] = None  # an operator's choice for speed; tagged is the default
    auth.login("lenkung@demo.dortmund.example", "Demo-Zugang-2026")
    document = reader(client.get(f"{DEMO}/handlungsrahmen.pdf"))
    assert "/StructTreeRoot" not in document.trailer["/Root"]
    total = len(document.pages)
    assert f"Seite {total} von {total}" in document.pages[-1].extract_text()
    assert document.get_destination_page_number(document.named_destinations["hf-1-1"]) == 2


def test_a4_option_gives_landscape_a4_pages(client, auth, demo):
    auth.login("lenkung@demo.dortmund.example", "Demo-Zugang-2026")
    page = reader(client.get(f"{DEMO}/handlungsrahmen.pdf?format=a4")).pages[0]
    assert round(float(page.mediabox.width) / 72 * 25.4) == 297
    a3 = reader(client.get(f"{DEMO}/handlungsrahmen.pdf")).pages[0]
    assert round(float(a3.mediabox.width) / 72 * 25.4) == 420


def test_change_report_marks_added_and_removed_words_steps_and_financing(client, auth, make):
    strategy = make.strategy(fields=2)
    field = make.field(strategy, 1)
    field.vision = "Alle Neuzugewanderten finden schnell Arbeit."
    done = NextStep(field=field, description="Sprachkurse bündeln", status=StepStatus.IN_PROGRESS)
    db.session.add(done)
    db.session.commit()
    make.approve(field, make.field(strategy, 2))
    edition = edition_of(strategy)
    field.vision = "Alle Neuzugewanderten finden schnell gute Arbeit in Dortmund."
    done.status = StepStatus.DONE
    db.session.add(NextStep(field=field, description="Jobmesse vorbereiten", status=StepStatus.PLANNED))
    db.session.add(FinancingItem(field=field, source=FundingSource.ESF_PLUS, programme="Arbeitsmarktprogramm",
                                 status=FundingStatus.SECURED))
    db.session.commit()
    make.approve(field)
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    text = pdf_text(reader(client.get(urls(strategy, edition)["changes"])))
    assert "Änderungen seit Fassung März 2026" in text
    assert "[+gute" in text and "Dortmund.+]" in squash(text) + "+]"
    assert "[−Arbeit.−]" in squash(text)
    assert "Neu:" in text and "Jobmesse vorbereiten" in text
    assert "Abgeschlossen:" in text and "Sprachkurse bündeln" in text
    assert "Arbeitsmarktprogramm" in text
    assert "2. Handlungsfeld 2" in text  # the unchanged field is listed as such


def test_edition_renders_frozen_content_and_the_same_text_twice(app, client, auth, make):
    strategy = make.strategy(fields=1)
    field = make.field(strategy, 1)
    field.gaps = "Ein „Kümmerer*innen“-Netzwerk fehlt."
    db.session.commit()
    make.approve(field)
    edition = edition_of(strategy, title="Fassung Juni 2026")
    field.gaps = "Später geändert."
    db.session.commit()
    make.approve(field)
    auth.login(make.user(role=Role.PARTNER, strategy=strategy))
    text = pdf_text(reader(client.get(urls(strategy, edition)["edition"])))
    assert "Fassung Juni 2026" in text
    assert "„Kümmerer*innen“" in text
    assert "Später geändert" not in text
    db.session.execute(db.delete(ExportCache))
    db.session.commit()
    again = pdf_text(reader(client.get(urls(strategy, edition)["edition"])))
    assert again == text



def test_the_framework_in_english_reads_english_throughout(client, auth, demo):
    auth.login("lenkung@demo.dortmund.example", "Demo-Zugang-2026")
    client.get("/sprache/en")
    response = client.get(f"/strategien/{demo.slug}/handlungsrahmen.pdf")
    assert response.status_code == 200
    document = PdfReader(io.BytesIO(response.data))
    total = len(document.pages)
    text = pdf_text(document)
    assert "Draft – as of" in text and "Contents" in text and "Part A" in text and "Part B" in text
    assert f"Page 2 of {total}" in document.pages[1].extract_text()  # the stamped page numbers too
    # (the demo's own content is German: only the document's labels must have changed)
    assert not re.search(r"Seite \d+ von|Entwurf – Stand|^Inhalt$|Teil [AB]:", text, re.MULTILINE)
    assert document.trailer["/Root"]["/Lang"] == "en"
    client.get("/sprache/de")  # and back: the German export is another cache entry, not the English one
    german = PdfReader(io.BytesIO(client.get(f"/strategien/{demo.slug}/handlungsrahmen.pdf").data))
    assert f"Seite 2 von {len(german.pages)}" in german.pages[1].extract_text()

# --- rendering to images -------------------------------------------------------------------------

def test_a_page_of_every_document_renders_to_png(client, auth, demo, tmp_path):
    edition = edition_of(demo)
    auth.login("lenkung@demo.dortmund.example", "Demo-Zugang-2026")
    for name, url in urls(demo, edition, number=11).items():
        pdf_path = tmp_path / f"{name}.pdf"
        pdf_path.write_bytes(client.get(url).data)
        page = "3" if name.startswith(("framework", "edition")) else "1"
        subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", page, "-l", page, "-singlefile", str(pdf_path),
                        str(tmp_path / name)], check=True, timeout=60)
        png = (tmp_path / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000, name


# --- who may export what -------------------------------------------------------------------------

WHO = ("anonymous", "outsider", "partner", "coordinator", "steering", "admin")
# visibility → the readers who may export (every document kind alike)
MAY_EXPORT = {
    Visibility.PUBLIC: set(WHO),
    Visibility.PARTNERS: {"partner", "coordinator", "steering", "admin"},
    Visibility.INTERNAL: {"coordinator", "steering", "admin"},
}


# Who reads a strategy of each visibility is tested for every role in test_permissions.py; per visibility these
# are the readers at its edge: the last who may (200) and the first who may not (404, as if it did not exist).
EDGES = [
    ("anonymous", Visibility.PUBLIC),
    ("outsider", Visibility.PARTNERS), ("partner", Visibility.PARTNERS),
    ("anonymous", Visibility.INTERNAL), ("partner", Visibility.INTERNAL), ("coordinator", Visibility.INTERNAL),
]


@pytest.mark.parametrize(("who", "visibility"), EDGES, ids=[f"{w}-{v.value}" for w, v in EDGES])
def test_every_export_url_is_served_exactly_to_those_who_may_read_the_strategy(client, auth, make, who, visibility):
    strategy = make.strategy(fields=1, visibility=visibility)
    make.approve(make.field(strategy, 1))
    edition = edition_of(strategy)
    other = make.strategy(fields=1, visibility=Visibility.PUBLIC)
    if who != "anonymous":
        role = {"partner": Role.PARTNER, "coordinator": Role.COORDINATOR, "steering": Role.STEERING}.get(who)
        user = make.user(role=role, strategy=strategy if role else None, admin=who == "admin",
                         fields=(make.field(strategy, 1),) if who == "coordinator" else ())
        auth.login(user)
    for kind, url in urls(strategy, edition).items():
        expected = 200 if who in MAY_EXPORT[visibility] else 404
        assert client.get(url).status_code == expected, (kind, url)
    # an edition of another strategy is never reachable under this strategy's address
    make.approve(make.field(other, 1))
    other_edition = edition_of(other)
    assert client.get(f"/strategien/{strategy.slug}/fassungen/{other_edition.id}/handlungsrahmen.pdf").status_code == 404


@pytest.mark.parametrize("who, sees_draft", [("partner", False), ("coordinator", True), ("steering", True),
                                             ("anonymous", False)])
def test_drafts_only_for_draft_readers_approved_content_for_the_rest(client, auth, make, who, sees_draft):
    strategy = make.strategy(fields=1, visibility=Visibility.PUBLIC)
    field = make.field(strategy, 1)
    field.vision = "Freigegebene Fassung der Vision."
    db.session.commit()
    make.approve(field)
    field.vision = "Unfertiger Entwurfstext der Vision."
    db.session.commit()
    if who != "anonymous":
        role = {"partner": Role.PARTNER, "coordinator": Role.COORDINATOR, "steering": Role.STEERING}[who]
        auth.login(make.user(role=role, strategy=strategy, fields=(field,) if who == "coordinator" else ()))
    for kind in ("framework", "dossier"):
        text = pdf_text(reader(client.get(urls(strategy)[kind])))
        assert ("Entwurfstext" in text) is sees_draft, kind
        assert ("Freigegebene Fassung" in text) is not sees_draft, kind


def test_unapproved_field_has_no_dossier_for_readers_of_approved_content(client, auth, make):
    strategy = make.strategy(fields=2, visibility=Visibility.PUBLIC)
    make.approve(make.field(strategy, 1))
    assert client.get(urls(strategy, number=2)["dossier"]).status_code == 404
    text = pdf_text(reader(client.get(urls(strategy)["framework"])))
    assert "noch kein Stand freigegeben" in text


def test_blocks_hidden_from_partners_stay_out_of_their_pdfs(client, auth, make):
    strategy = make.strategy(fields=1, visibility=Visibility.PARTNERS)
    strategy.block_visibility = {"workshop_2": "internal"}
    field = make.field(strategy, 1)
    field.gaps = "Vertrauliche Lücke im Haushalt."
    field.vision = "Offene Vision für alle."
    db.session.commit()
    make.approve(field)
    auth.login(make.user(role=Role.PARTNER, strategy=strategy))
    for kind in ("framework", "dossier"):
        text = pdf_text(reader(client.get(urls(strategy)[kind])))
        assert "Offene Vision" in text and "Vertrauliche" not in text and "Was fehlt?" not in text, kind


def test_private_strategy_and_unknown_documents_are_404(client, auth, make):
    strategy = make.strategy(fields=1, visibility=Visibility.INTERNAL)
    assert client.get(urls(strategy)["framework"]).status_code == 404
    public = make.strategy(fields=1)
    assert client.get(f"/strategien/{public.slug}/handlungsrahmen.pdf?format=a0").status_code == 404
    assert client.get(f"/strategien/{public.slug}/handlungsfelder/99/dossier.pdf").status_code == 404
    assert client.get(f"/strategien/{public.slug}/fassungen/99999/aenderungen.pdf").status_code == 404


def test_export_links_appear_only_where_exports_are_permitted(client, auth, make):
    strategy = make.strategy(fields=2)
    make.approve(make.field(strategy, 1))
    edition = edition_of(strategy)
    base = f"/strategien/{strategy.slug}"
    overview = client.get(f"{base}/").get_data(as_text=True)
    assert f"{base}/handlungsrahmen.pdf" in overview and "format=a4" in overview
    assert f"{base}/handlungsfelder/1/dossier.pdf" in client.get(f"{base}/handlungsfelder/1").get_data(as_text=True)
    # nothing approved yet: a public reader gets no dossier, and no link to one
    assert "dossier.pdf" not in client.get(f"{base}/handlungsfelder/2").get_data(as_text=True)
    edition_page = client.get(f"{base}/fassungen/{edition.id}/").get_data(as_text=True)
    assert f"{base}/fassungen/{edition.id}/handlungsrahmen.pdf" in edition_page
    assert f"{base}/fassungen/{edition.id}/aenderungen.pdf" in edition_page
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    assert "dossier.pdf" in client.get(f"{base}/handlungsfelder/2").get_data(as_text=True)


# --- safety --------------------------------------------------------------------------------------

class _Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802
        self.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback():
    """A loopback HTTP server that records every request it gets."""
    _Recorder.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Recorder.seen
    server.shutdown()
    server.server_close()


def hostile(base: str) -> str:
    return (
        f'<img src="file:///etc/hostname"> <link rel="attachment" href="file:///etc/passwd"> '
        f'<style>@import url({base}/import.css); body {{ background: url({base}/bg.png) }}</style> '
        f'![Bild]({base}/image.png) [Link]({base}/link) <img src="{base}/img.png"> '
        f'<a rel="attachment" href="file:///etc/hostname">Anhang</a> <object data="{base}/object"></object>'
    )


def assert_no_outside_resources(document: PdfReader) -> None:
    root = document.trailer["/Root"]
    assert "/EmbeddedFiles" not in root.get("/Names", {})
    assert "/AF" not in root
    for page in document.pages:
        for annotation in page.get("/Annots", []) or []:
            assert annotation.get_object().get("/Subtype") != "/FileAttachment"
        xobjects = page["/Resources"].get("/XObject", {}) if "/Resources" in page else {}
        for xobject in xobjects.values():
            assert xobject.get_object().get("/Subtype") != "/Image"


def test_user_content_cannot_read_files_embed_attachments_or_reach_the_network(client, auth, make, loopback):
    base, seen = loopback
    strategy = make.strategy(fields=1)
    field = make.field(strategy, 1)
    field.title = "Feld <img src='file:///etc/hostname'>"
    field.goal_text = hostile(base)
    from strategy.framework import TEXT_COLUMNS

    for column in TEXT_COLUMNS:
        setattr(field, column, hostile(base))
    db.session.add(WorkingGroup(field=field, name=hostile(base)[:190]))
    db.session.add(NextStep(field=field, description=hostile(base)))
    db.session.commit()
    make.approve(field)
    edition = edition_of(strategy)
    field.vision = hostile(base) + " neu"
    db.session.commit()
    make.approve(field)
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    for url in urls(strategy, edition).values():
        document = reader(client.get(url))
        assert_no_outside_resources(document)
        assert "file:///etc/hostname" in pdf_text(document)  # shown as text, never loaded
    assert seen == []


def test_renderer_refuses_files_network_and_data_urls_even_in_raw_html(loopback):
    base, seen = loopback
    html = (
        "<!doctype html><html lang=de><head><title>t</title>"
        f'<link rel="stylesheet" href="{base}/sheet.css"><link rel="stylesheet" href="file:///etc/hostname">'
        f"<style>@import url({base}/import.css); @import 'file:///etc/passwd';"
        f"body {{ background: url({base}/bg.png) }} @font-face {{ font-family: X; src: url({base}/font.woff) }}</style>"
        f'<link rel="attachment" href="file:///etc/hostname"><link rel="attachment" href="{base}/attach">'
        "</head><body><p>Inhalt</p>"
        f'<img src="file:///etc/hostname"><img src="{base}/img.png"><iframe src="{base}/frame"></iframe>'
        '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==">'
        f'<svg width="10" height="10"><image href="{base}/svg.png" width="10" height="10"/></svg>'
        f'<a rel="attachment" href="{base}/a">a</a></body></html>'
    )
    result = pdf.pool().render(pdf.RenderJob(html), timeout=60)
    document = PdfReader(io.BytesIO(result.pdf))
    assert "Inhalt" in pdf_text(document)
    assert_no_outside_resources(document)
    assert seen == []


def test_a_document_over_the_time_limit_is_stopped_and_the_renderer_recovers():
    renderer = pdf.RendererPool(size=1)
    try:
        huge = "<!doctype html><html lang=de><title>t</title><body>" + "<p>Wort " * 400_000 + "</body></html>"
        with pytest.raises(pdf.RenderTimeout):
            renderer.render(pdf.RenderJob(huge), timeout=1.5)
        result = renderer.render(pdf.RenderJob("<!doctype html><html lang=de><title>t</title><p>klein</p>"), timeout=60)
        assert result.page_count == 1
    finally:
        renderer.close()


def test_a_document_over_the_memory_limit_fails_without_harming_the_web_process():
    renderer = pdf.RendererPool(size=1, memory_mb=350)
    try:
        huge = "<!doctype html><html lang=de><title>t</title><body>" + "<p>Wort Wort Wort</p>" * 300_000 + "</body></html>"
        with pytest.raises(pdf.RenderError) as failure:
            renderer.render(pdf.RenderJob(huge, pdf_variant=None), timeout=900)
        assert not isinstance(failure.value, pdf.RenderTimeout)
        result = renderer.render(pdf.RenderJob("<!doctype html><html lang=de><title>t</title><p>klein</p>"), timeout=60)
        assert result.page_count == 1
    finally:
        renderer.close()



def children(role: str) -> set[int]:
    return {child.pid for child in multiprocessing.active_children() if child.name == role}


def test_pieces_are_joined_in_a_process_of_its_own_that_ends_afterwards():
    """Joining holds every piece at once; that memory must not stay behind in a long-lived renderer."""
    renderer = pdf.RendererPool(size=1)
    try:
        parts = [renderer.render(pdf.RenderJob(f"<!doctype html><html lang=de><title>t</title><p>Teil {n}</p>"),
                                 timeout=60).pdf for n in (1, 2)]
        renderers = children(pdf.RENDERER)
        assert renderers
        joined = renderer.assemble(pdf.AssembleJob(parts), timeout=60)
        assert children(pdf.ASSEMBLER) == set()
        assert children(pdf.RENDERER) == renderers
        document = PdfReader(io.BytesIO(joined.pdf))
        assert [page.extract_text().strip() for page in document.pages] == ["Teil 1", "Teil 2"]
        assert b"/ObjStm" in joined.pdf  # the joined structure tree is stored compressed
    finally:
        renderer.close()


def test_a_gunicorn_worker_starts_its_renderers_before_the_first_export(app):
    app.config.update(PDF_RENDER_WORKERS=1, PDF_RENDER_MEMORY_MB=1999)  # a pool no other test uses
    before = children(pdf.RENDERER)
    hooks = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    try:
        hooks["post_worker_init"](SimpleNamespace(wsgi=app))  # what gunicorn hands the hook: its worker
        started = set()
        for _ in range(600):
            started = children(pdf.RENDERER) - before
            if started:
                break
            time.sleep(0.1)
        assert len(started) == 1
        result = pdf.pool(1, 1999).render(pdf.RenderJob("<!doctype html><html lang=de><title>t</title><p>x</p>"))
        assert result.page_count == 1
        assert children(pdf.RENDERER) - before == started  # the export used the renderer started ahead
    finally:
        pdf.pool(1, 1999).close()
    app.config["PDF_WARM_UP"] = False
    assert services.start_renderers(app) is None

# --- cache ---------------------------------------------------------------------------------------

def cache_rows():
    return db.session.scalars(db.select(ExportCache).order_by(ExportCache.id)).all()


def test_unchanged_export_is_served_from_the_cache_and_a_change_renders_anew(client, auth, make):
    strategy = make.strategy(fields=1)
    field = make.field(strategy, 1)
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    first = client.get(urls(strategy)["framework"])
    second = client.get(urls(strategy)["framework"])
    assert first.headers["X-Export-Cache"] == "miss" and second.headers["X-Export-Cache"] == "hit"
    assert second.data == first.data
    db.session.expire_all()
    rows = cache_rows()
    assert len(rows) == 1 and rows[0].hits == 1
    field.vision = "Eine neue Vision."
    db.session.commit()
    assert "Eine neue Vision" in pdf_text(reader(client.get(urls(strategy)["framework"])))
    db.session.expire_all()
    assert len(cache_rows()) == 2


def test_an_edition_renders_once_ever(client, auth, make):
    strategy = make.strategy(fields=1)
    make.approve(make.field(strategy, 1))
    edition = edition_of(strategy)
    url = urls(strategy, edition)["edition"]
    client.get(url)
    field = make.field(strategy, 1)
    field.vision = "Nach der Fassung geändert."
    db.session.commit()
    make.approve(field)
    for _ in range(2):
        assert client.get(url).headers["X-Export-Cache"] == "hit"
    db.session.expire_all()
    rows = [row for row in cache_rows() if row.subject == f"edition-{edition.id}"]
    assert len(rows) == 1 and rows[0].hits == 2
