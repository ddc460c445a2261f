# Examples for `semgrep --test .semgrep/`: each "ruleid" line must be found, each "ok" line must not.
import sqlalchemy as sa
import weasyprint
from flask import redirect, render_template_string, request
from markupsafe import Markup
from weasyprint import HTML

from strategy.extensions import db
from strategy.models import Field, NextStep, Revision


def pdf(html, fetcher):
    # ruleid: weasyprint-without-our-url-fetcher
    HTML(string=html).write_pdf()
    # ruleid: weasyprint-without-our-url-fetcher
    weasyprint.HTML(string=html, base_url="/").write_pdf()
    # ok: weasyprint-without-our-url-fetcher
    HTML(string=html, url_fetcher=fetcher).write_pdf()


def history(field_id):
    # ruleid: no-bulk-change-of-history
    db.session.execute(sa.update(Revision).values(summary=""))
    # ruleid: no-bulk-change-of-history
    db.session.execute(sa.delete(Revision).where(Revision.id == 1))
    # ruleid: no-bulk-change-of-history
    db.session.query(Revision).filter_by(field_id=field_id).delete()


def content(field_id, seen):
    # ruleid: no-bulk-update-on-versioned-models
    db.session.execute(sa.update(Field).values(vision=""))
    # ruleid: no-bulk-update-on-versioned-models
    db.session.execute(db.delete(NextStep).where(NextStep.field_id == field_id))
    # ruleid: no-bulk-update-on-versioned-models
    db.session.query(Field).filter(Field.strategy_id == 1).update({"vision": ""})
    # ok: no-bulk-update-on-versioned-models
    db.session.execute(sa.update(Field).where(Field.id == field_id, Field.version == seen).values(version=seen + 1))


def sql(conn, name, number):
    # ruleid: no-raw-sql-string-formatting
    conn.execute(sa.text(f"SELECT * FROM field WHERE title = '{name}'"))
    # ruleid: no-raw-sql-string-formatting
    conn.execute("SELECT * FROM field WHERE title = '%s'" % name)
    # ruleid: no-raw-sql-string-formatting
    conn.exec_driver_sql("DELETE FROM field WHERE title = '{}'".format(name))
    # ok: no-raw-sql-string-formatting
    conn.execute(sa.text("SELECT * FROM field WHERE title = :name"), {"name": name})
    # ok: no-raw-sql-string-formatting
    conn.execute(f"PRAGMA busy_timeout={int(number)}")


def html(name):
    # ruleid: no-markup-from-formatted-strings
    a = Markup(f"<b>{name}</b>")
    # ruleid: no-markup-from-formatted-strings
    b = Markup("<b>" + name + "</b>")
    # ok: no-markup-from-formatted-strings
    c = Markup("<b>{}</b>").format(name)
    return a, b, c


def views(template):
    # ruleid: no-template-from-strings
    render_template_string(template)
    # ok: no-template-from-strings
    render_template_string("<p>{{ x }}</p>", x=1)
    # ruleid: no-redirect-to-request-data
    return redirect(request.args.get("next"))
