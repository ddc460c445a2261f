"""Spreadsheet export and import on the synthetic framework of bench/pdf_bench.py (13 fields, ~22,000 words).

Prints medians of:
- exporting the framework as .xlsx (XlsxWriter, constant memory), .ods and .csv, whole request and writer only;
- validating and previewing a workbook of those 13 fields plus 2,000 step rows (the export with 2,000 new
  steps and three edited text cells): reading the file, guessing the mapping, checking every cell, planning
  against the database and rendering the preview page, as the whole GET of the preview.

    flock /tmp/bench.lock .venv/bin/python bench/spreadsheet_bench.py --runs 5
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEP_ROWS = 2_000


def pdf_bench():
    spec = importlib.util.spec_from_file_location("pdf_bench", ROOT / "bench" / "pdf_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(runs: int, action) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sheet-bench-"))
    os.environ["STRATEGY_INSTANCE_PATH"] = str(folder)
    import openpyxl
    from flask_login import login_user

    from strategy import create_app, models
    from strategy.extensions import db
    from strategy.spreadsheets import files, imports
    from strategy.spreadsheets.export import workbook
    from strategy.spreadsheets.writing import write_xlsx

    bench = pdf_bench()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                      "TESTING": True, "WTF_CSRF_ENABLED": False, "PDF_WARM_UP": False})
    with app.app_context():
        db.create_all()
        strategy, user = bench.build_strategy(db, models, 13)
        words = len(bench.content_words(strategy))
        slug, email = strategy.slug, user.email
        print(f"synthetic framework: {len(strategy.fields)} fields, {words} words")

        def writer_only():
            with app.test_request_context():
                login_user(user)
                return write_xlsx(workbook(user, strategy))

        seconds, data = timed(args.runs, writer_only)
        print(f"export .xlsx, content + writer only: median {seconds * 1000:.0f} ms ({len(data) / 1000:.0f} kB)")

    client = app.test_client()
    client.post("/anmelden", data={"email": email, "password": "x" * 16})
    for fmt in ("xlsx", "ods", "csv"):
        seconds, response = timed(args.runs, lambda fmt=fmt: client.get(f"/strategien/{slug}/handlungsrahmen.{fmt}"))
        assert response.status_code == 200, response.status_code
        print(f"export .{fmt}, whole request: median {seconds * 1000:.0f} ms ({len(response.data) / 1000:.0f} kB)")

    # The workbook to import: the export, three text cells edited, 2,000 new steps.
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/strategien/{slug}/handlungsrahmen.xlsx").data))
    for row in (2, 3, 4):
        book["Handlungsrahmen"].cell(row=row, column=14, value=f"Geändert in Zeile {row}.")
    steps = book["Schritte"]
    for n in range(STEP_ROWS):
        steps.append([None, None, n % 13 + 1, f"Neuer Schritt {n} für die Bench mit etwas Text", "Jobcenter",
                      "30.06.2027", "geplant", "", None])
    out = io.BytesIO()
    book.save(out)
    upload = out.getvalue()
    response = client.post(f"/strategien/{slug}/import", data={"file": (io.BytesIO(upload), "bench.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.data[:500]
    location = response.headers["Location"]

    with app.test_request_context():
        login_user(user)
        seconds_read, sheets = timed(args.runs, lambda: files.read_upload("bench.xlsx", upload))
        seconds_plan, plan = timed(args.runs, lambda: imports.plan_import(
            db.session.get(models.Strategy, strategy.id), sheets, imports.guess_mapping(sheets)))
    rows = sum(len(s.rows) for s in sheets)
    new_steps = sum(1 for f in plan.fields for c in f.steps if c.action == "new")
    print(f"import file: {len(upload) / 1000:.0f} kB, {rows} rows in {len(sheets)} sheets; plan: "
          f"{len(plan.changed_fields)} fields changed, {new_steps} new steps, {len(plan.problems)} problems")
    print(f"  reading the file (calamine): median {seconds_read * 1000:.0f} ms")
    print(f"  mapping + checking every cell + planning: median {seconds_plan * 1000:.0f} ms")
    seconds, response = timed(args.runs, lambda: client.get(location + "/vorschau"))
    assert response.status_code == 200, response.status_code
    print(f"validate + preview, whole request (read, check, plan, render {len(response.data) / 1000:.0f} kB page): "
          f"median {seconds * 1000:.0f} ms  (target < 3 s)")
    seconds, response = timed(1, lambda: client.post(location + "/vorschau"))
    print(f"confirm (store 3 texts + {new_steps} steps, 13 revisions): {seconds * 1000:.0f} ms, "
          f"status {response.status_code}")


if __name__ == "__main__":
    main()
