"""PDF export bench: completeness, fresh and cached render times, the export after one field changed (the
piece cache), dossier time, peak memory, and how the rest of the app answers while exports render.
Generates its own synthetic framework (13 fields, about 22,000 words) in a throwaway SQLite database and,
where LibreOffice is installed, times Writer converting the same content written as a Word table (python-
docx); prints medians and the targets' ratios.

    .venv/bin/python bench/pdf_bench.py [--runs 3] [--skip-130] [--targets-only]
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = (
    "Neuzuwanderung Integration Teilhabe Stadtgesellschaft Beratung Sprachförderung Arbeitsmarkt Qualifizierung "
    "Anerkennung Bildung Gesundheit Wohnen Quartier Nachbarschaft Jobcenter Agentur Träger Migrant*innen "
    "Neuzuwander*innen Ehrenamt Kooperation Vernetzung Steuerung Fachgruppe Koordination Verwaltung Projekt "
    "Finanzierung Verstetigung Förderprogramm Zugang Schule Kita Familien Jugendliche Frauen Männer Kinder "
    "gemeinsam verbindlich nachhaltig niedrigschwellig mehrsprachig kultursensibel strukturell frühzeitig "
    "stärken sichern entwickeln ausbauen verbessern unterstützen begleiten vermitteln erreichen öffnen "
    "und der die das mit für von zu im in auf über bei nach aus durch gegen ohne um sowie insbesondere "
    "Ausbeutung Schutz Rechte Diskriminierung Antidiskriminierung Empowerment Selbstorganisation Wissen "
    "Daten Monitoring Evaluation Ziele Maßnahmen Angebote Lotsen Clearingstelle Krankenversicherung Übergänge"
).split()

TEXT_COLUMNS = {  # column → (words, as a list?)
    "current_state": (300, False), "central_processes": (150, True), "vision": (120, False),
    "strategic_goals": (200, True), "future_challenges": (250, True), "what_worked": (240, False),
    "gaps": (220, True), "financing_notes": (80, False),
}


LIMIT = 900.0  # seconds; the bench measures, it does not enforce the production time limit


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words) + "."


def text(rng: random.Random, words: int, as_list: bool) -> str:
    parts, left = [], words
    while left > 0:
        n = min(left, rng.randint(9, 18))
        parts.append(sentence(rng, n))
        left -= n
    if as_list:
        return "\n".join(f"- {p}" for p in parts)
    paragraphs, chunk = [], []
    for p in parts:
        chunk.append(p)
        if len(chunk) == 4:
            paragraphs.append(" ".join(chunk))
            chunk = []
    if chunk:
        paragraphs.append(" ".join(chunk))
    return "\n\n".join(paragraphs)


def build_strategy(db, models, fields: int, seed: int = 7):
    """A strategy with `fields` rows of synthetic text, steps and financing items; returns (strategy, user)."""
    from strategy.auth.passwords import hash_password

    rng = random.Random(seed)
    strategy = models.Strategy(slug=f"bench-{fields}", title="Gesamtstrategie Neuzuwanderung (Bench)",
                               subtitle="Synthetischer Handlungsrahmen für Messungen",
                               visibility=models.Visibility.INTERNAL)
    db.session.add(strategy)
    for number in range(1, fields + 1):
        field = models.Field(strategy=strategy, number=number, title=f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
                             goal_text=sentence(rng, 40), phase=models.FieldPhase.WORKSHOP_2)
        for column, (words, as_list) in TEXT_COLUMNS.items():
            setattr(field, column, text(rng, words, as_list))
        db.session.add(field)
        db.session.add(models.WorkingGroup(field=field, name=f"FG {rng.choice(WORDS)}", position=0))
        for position in range(5):
            db.session.add(models.NextStep(field=field, description=sentence(rng, 18), position=position,
                                           due_date=date(2027, 1, 1) + timedelta(days=40 * position),
                                           status=models.StepStatus.PLANNED))
        for position in range(2):
            db.session.add(models.FinancingItem(field=field, source=models.FundingSource.ESF_PLUS,
                                                programme=sentence(rng, 4), amount=Decimal(120000 + position),
                                                start_date=date(2025, 1, 1), end_date=date(2027, 12, 31),
                                                status=models.FundingStatus.SECURED, position=position))
    user = models.User(email=f"bench{fields}@example.org", name="Bench", password_hash=hash_password("x" * 16))
    user.memberships.append(models.Membership(strategy=strategy, role=models.Role.STEERING))
    db.session.add(user)
    db.session.commit()
    return strategy, user


def content_words(strategy) -> list[str]:
    found = []
    for field in strategy.fields:
        found += re.findall(r"[\wÄÖÜäöüß*]+", field.title + " " + field.goal_text)
        for column in TEXT_COLUMNS:
            found += re.findall(r"[\wÄÖÜäöüß*]+", getattr(field, column))
        for step in field.next_steps:
            found += re.findall(r"[\wÄÖÜäöüß*]+", step.description)
    return found


def squash(value: str) -> str:
    return re.sub(r"[\s\-‐­]+", "", value)


def completeness(pdf_bytes: bytes, words: list[str]) -> float:
    from pypdf import PdfReader

    extracted = squash("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_bytes)).pages))
    return sum(1 for w in words if squash(w) in extracted) / len(words)


def median(values):
    return statistics.median(values)


def timing(results) -> str:
    """Median wall time and the renderer's own CPU time (the machine is shared: wall time varies with load)."""
    return (f"{median([r.seconds for r in results]):.2f} s wall, "
            f"{median([r.cpu_seconds for r in results]):.2f} s CPU")


# --- LibreOffice: the same content as a spreadsheet, converted to PDF ------------------------------

def write_xlsx(path: Path, rows: list[list[str]]) -> None:
    """The sheet set up as a city's is: wrapped text at the top of each cell, columns of about 33 mm, A3
    landscape scaled to one page wide (the rows' heights are left to LibreOffice)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Handlungsrahmen"
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.font = Font(name="Liberation Sans", size=8)
    for column in range(1, len(rows[0]) + 1):
        sheet.column_dimensions[sheet.cell(1, column).column_letter].width = 24
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A3
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    book.save(path)


def write_docx(path: Path, rows: list[list[str]]) -> None:
    """The framework as a city keeps it in Word: one table, A3 landscape, 8 pt, the header row repeated on
    every page, rows allowed to split across pages (Word's default), paragraphs and list items as
    paragraphs of their cell."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(420), Mm(297)
    section.left_margin = section.right_margin = Mm(12)
    section.top_margin, section.bottom_margin = Mm(17), Mm(15)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = "Liberation Sans", Pt(8)
    normal.paragraph_format.space_after = Pt(2)
    table = document.add_table(rows=0, cols=len(rows[0]))
    table.style = "Table Grid"
    for number, values in enumerate(rows):
        row = table.add_row()
        if number == 0:
            header = OxmlElement("w:tblHeader")
            header.set(qn("w:val"), "true")
            row._tr.get_or_add_trPr().append(header)
        for cell, value in zip(row.cells, values, strict=True):
            paragraphs = [p for p in re.split(r"\n\n|\n(?=- )", value) if p.strip()] or [""]
            cell.text = paragraphs[0]
            for paragraph in paragraphs[1:]:
                cell.add_paragraph(paragraph)
    document.save(path)


def framework_rows(strategy) -> list[list[str]]:
    """The content the bench's framework prints, as rows of strings (the office routes' input)."""
    rows = [["Thema"] + list(TEXT_COLUMNS) + ["next_steps"]]
    for field in strategy.fields:
        rows.append([f"{field.number}. {field.title}\n\n{field.goal_text}"] + [getattr(field, c) for c in TEXT_COLUMNS]
                    + ["\n".join(f"- {s.description}" for s in field.next_steps)])
    return rows


def convert(binary: str, work: Path, name: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([binary, "--headless", f"-env:UserInstallation=file://{work}/profile", "--convert-to", "pdf",
                        "--outdir", str(work), str(work / name)], check=True, capture_output=True, timeout=300)
        times.append(time.perf_counter() - started)
    return times


def writer(strategy, words, runs: int) -> tuple[float | None, str]:
    """LibreOffice Writer converting the same content as a .docx table: (median seconds, the line to print)."""
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    if not binary:
        return None, "not installed (apt-get install libreoffice-writer-nogui)"
    if importlib.util.find_spec("docx") is None:
        return None, "needs python-docx to write the table"
    work = Path(tempfile.mkdtemp(prefix="pdf-bench-writer-"))
    write_docx(work / "framework.docx", framework_rows(strategy))
    convert(binary, work, "framework.docx", 1)  # the first start makes LibreOffice's profile: not timed
    times = convert(binary, work, "framework.docx", runs)
    from pypdf import PdfReader

    output = (work / "framework.pdf").read_bytes()
    pages = len(PdfReader(io.BytesIO(output)).pages)
    return median(times), (f"{median(times):.2f} s median ({min(times):.2f}–{max(times):.2f}), {pages} pages, "
                           f"{completeness(output, words):.1%} of the words, untagged (look at {work / 'framework.pdf'})")


def libreoffice(strategy, words, runs: int) -> str:
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    if not binary:
        return "not installed"
    if not list(Path(os.path.realpath(binary)).parent.glob("libsclo.so")):
        return "LibreOffice Calc not installed (apt-get install libreoffice-calc-nogui)"
    if importlib.util.find_spec("openpyxl") is None:
        return "needs openpyxl to write the sheet: pip install -e '.[bench]'"
    work = Path(tempfile.mkdtemp(prefix="pdf-bench-lo-"))
    write_xlsx(work / "framework.xlsx", framework_rows(strategy))
    times = convert(binary, work, "framework.xlsx", runs)
    from pypdf import PdfReader

    output = (work / "framework.pdf").read_bytes()
    pages = len(PdfReader(io.BytesIO(output)).pages)
    # Rows cannot split across pages, so LibreOffice prints each row's cells at the row's height: the words
    # are in the file (extraction finds them) but clipped or drawn over each other. Look at the page.
    return (f"{median(times):.2f} s, {pages} page(s), {completeness(output, words):.1%} of the words extractable "
            f"(extraction counts clipped and overprinted words too; look at {work / 'framework.pdf'})")


# --- the bench -----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-130", action="store_true")
    parser.add_argument("--cached-only", action="store_true", help="only the cached-export figure")
    parser.add_argument("--status-only", action="store_true", help="only the status page p95 during exports")
    parser.add_argument("--memory-only", action="store_true", help="only the peak memory figures")
    parser.add_argument("--targets-only", action="store_true",
                        help="only targets 1 and 2: fresh render against Writer, after one change against fresh")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pdf-bench-"))
    os.environ["STRATEGY_INSTANCE_PATH"] = str(folder)
    from flask_login import login_user

    from strategy import create_app, models
    from strategy.exports import pdf, services
    from strategy.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                      "TESTING": True, "WTF_CSRF_ENABLED": False, "PDF_RENDER_TIMEOUT": LIMIT})
    with app.app_context():
        db.create_all()
        strategy, user = build_strategy(db, models, 13)
        words = content_words(strategy)
        print(f"synthetic framework: {len(strategy.fields)} fields, {len(words)} words")

        def document(kind: str, strategy=strategy, user=user, **kwargs):
            with app.test_request_context():
                login_user(user)
                if kind == "framework":
                    doc = services.framework_document(user, strategy, **kwargs)
                else:
                    doc = services.field_document(user, strategy.fields[0])
                doc.prepare()  # build the HTML inside the request context
                return doc

        def render(doc, workers: int = pdf.DEFAULT_WORKERS, variant: str | None = pdf.PDF_VARIANT, fresh: bool = True):
            """The export's render; `fresh`: with no stored pieces (the piece cache emptied first)."""
            app.config.update(PDF_RENDER_WORKERS=workers, PDF_VARIANT=variant)
            if fresh:
                db.session.execute(db.delete(models.ExportPiece))
                db.session.commit()
            with app.test_request_context():
                pdf.pool(workers).warm_up()
                started = time.perf_counter()
                result = services.render(doc)
                result.seconds = time.perf_counter() - started  # the whole export, pieces and joining
                return result

        def fresh_renderers() -> None:
            """New renderer processes, warmed up and idle (peak memory counts from here)."""
            pdf.close_pools()
            pdf.pool().warm_up()
            time.sleep(2)

        def peak_memory() -> None:
            """The largest resident size any renderer or assembler process reached, from fresh processes."""
            fresh_renderers()
            result = render(document("framework"))
            print(f"peak memory of one render (13 fields): {result.peak_rss_mb:.0f} MB")
            if not args.skip_130:
                big_strategy, big_user = build_strategy(db, models, 130, seed=11)
                big = document("framework", strategy=big_strategy, user=big_user)
                app.config["PDF_RENDER_TIMEOUT"] = 4 * LIMIT
                fresh_renderers()
                result = render(big)
                print(f"peak memory of one render (130 fields, {result.page_count} pages, "
                      f"{len(big.pieces.bodies)} pieces, {len(result.pdf) / 1e6:.1f} MB file): "
                      f"{result.peak_rss_mb:.0f} MB ({timing([result])})")

        def after_one_change(what: str) -> None:
            """Target 2: a fresh render, then one field changed and the export made again (the pieces of
            unchanged rows from the piece cache), interleaved run by run; medians and their ratio."""
            fresh_times, after_times, rendered = [], [], []
            for run in range(args.runs):
                fresh_times.append(render(document("framework")).seconds)
                field = strategy.fields[6]
                if what == "text":  # a column of part A: one run of rows renders again
                    field.current_state += f" Geändert im Lauf {run}."
                else:  # the title: its runs in both parts, the contents and the running headers
                    field.title = f"{field.title.split(' (')[0]} (Lauf {run})"
                db.session.commit()
                after = render(document("framework"), fresh=False)
                after_times.append(after.seconds)
                rendered.append(f"{after.pieces_rendered}/{after.pieces_rendered + after.pieces_reused}")
            ratio = median(after_times) / median(fresh_times)
            print(f"after one field's {what} changes: {median(after_times):.2f} s against a fresh render's "
                  f"{median(fresh_times):.2f} s (interleaved): ratio {ratio:.2f} (target ≤ 0.25: "
                  f"{'met' if ratio <= 0.25 else 'not met'}); pieces rendered/all: {', '.join(rendered)}")

        def fresh_against_writer() -> None:
            """Target 1: our fresh render, tagged, against LibreOffice Writer converting the same content."""
            ours = [render(document("framework")) for _ in range(args.runs)]
            seconds, line = writer(strategy, words, args.runs)
            print(f"LibreOffice Writer (.docx table → PDF, same content): {line}")
            if seconds:
                ratio = median([r.seconds for r in ours]) / seconds
                print(f"fresh render (tagged) against Writer: {median([r.seconds for r in ours]):.2f} s / "
                      f"{seconds:.2f} s = {ratio:.2f} (target ≤ 1: {'met' if ratio <= 1 else 'not met'})")

        if args.targets_only:
            print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            render(document("framework"))  # warm
            fresh_against_writer()
            after_one_change("text")
            after_one_change("title")
            print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            return
        if args.memory_only:
            peak_memory()
            return
        if args.cached_only:
            cached_export(app, strategy, user, args.runs)
            return
        if args.status_only:
            status_p95(app, strategy, user, folder)
            return
        framework = document("framework")
        started = time.perf_counter()
        pdf.close_pools()
        first = render(framework)
        print(f"cold start (new renderer processes + first export): {time.perf_counter() - started:.2f} s")

        fresh = [render(framework) for _ in range(args.runs)]
        print(f"fresh render, framework A3, tagged PDF/UA, pieces on {pdf.DEFAULT_WORKERS} warm renderer processes: "
              f"{timing(fresh)} (CPU summed over the processes), {fresh[0].page_count} pages")
        print(f"completeness: {completeness(first.pdf, words):.1%} of {len(words)} words in the extracted text")
        untagged = [render(framework, variant=None) for _ in range(args.runs)]
        print(f"  same without PDF/UA tagging: {timing(untagged)}")
        serial = [render(framework, workers=1) for _ in range(args.runs)]
        print(f"  same on one renderer process (no parallelism): {timing(serial)}")
        a4 = document("framework", paper="a4")
        a4_runs = [render(a4) for _ in range(args.runs)]
        print(f"fresh render, framework A4: {timing(a4_runs)}, {a4_runs[0].page_count} pages")
        print(f"LibreOffice Calc (.xlsx → PDF, same content): {libreoffice(strategy, words, args.runs)}")
        fresh_against_writer()
        after_one_change("text")
        after_one_change("title")

        dossier = document("dossier")
        dossier_runs = [render(dossier) for _ in range(args.runs)]
        print(f"field dossier: {timing(dossier_runs)}, {dossier_runs[0].page_count} pages")

        cached_export(app, strategy, user, args.runs)

        peak_memory()
        status_p95(app, strategy, user, folder)
        pdf.close_pools()


def cached_export(app, strategy, user, runs: int) -> None:
    """The whole request for an export whose content has not changed since it was rendered."""
    client = app.test_client()
    client.post("/anmelden", data={"email": user.email, "password": "x" * 16})
    url = f"/strategien/{strategy.slug}/handlungsrahmen.pdf"
    assert client.get(url).status_code == 200
    cached, cpu = [], []
    for _ in range(max(7, runs)):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url)
        cached.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        assert response.headers["X-Export-Cache"] == "hit"
    print(f"cached export (unchanged content, whole request): {median(cached) * 1000:.0f} ms wall, "
          f"{median(cpu) * 1000:.0f} ms CPU")


def status_p95(app, strategy, user, folder) -> None:
    """Serve the app on a loopback port (threads, as a worker would), start two fresh exports and
    meanwhile request the status page; print its p95 latency."""
    import urllib.request
    from http.cookiejar import CookieJar

    from werkzeug.serving import WSGIRequestHandler, make_server

    from strategy.extensions import db
    from strategy.models import ExportCache

    db.session.execute(db.delete(ExportCache))
    db.session.commit()
    strategy.visibility = type(strategy.visibility)("public")
    db.session.commit()
    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # the figures, not hundreds of access lines
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/strategien/{strategy.slug}"

    def opener():
        jar = CookieJar()
        o = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        o.open(urllib.request.Request(f"http://127.0.0.1:{server.server_port}/anmelden",
                                      data=f"email={user.email}&password={'x' * 16}".encode()))
        return o

    exporters = [opener(), opener()]
    status_url = f"{base}/status"
    try:
        urllib.request.urlopen(status_url).read()
    except OSError:  # the status page is not available in this build: the overview stands in for it
        status_url = f"{base}/"
        urllib.request.urlopen(status_url).read()
    print(f"page measured: {status_url.split(str(server.server_port))[1]}")
    done = threading.Event()
    export_times = []

    def export(o, url):
        started = time.perf_counter()
        o.open(url).read()
        export_times.append(time.perf_counter() - started)

    threads = [threading.Thread(target=export, args=(exporters[0], f"{base}/handlungsrahmen.pdf")),
               threading.Thread(target=export, args=(exporters[1], f"{base}/handlungsrahmen.pdf?format=a4"))]
    for t in threads:
        t.start()
    latencies = []
    while any(t.is_alive() for t in threads):
        started = time.perf_counter()
        urllib.request.urlopen(status_url).read()
        latencies.append(time.perf_counter() - started)
        time.sleep(0.05)
    for t in threads:
        t.join()
    done.set()
    server.shutdown()
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"status page while two exports render ({len(latencies)} requests, exports took "
          f"{', '.join(f'{t:.1f} s' for t in export_times)}): p95 {p95 * 1000:.0f} ms, "
          f"median {median(latencies) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
