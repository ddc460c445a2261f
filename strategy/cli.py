"""`flask` commands: demo data, first admin, serving the demo."""
from __future__ import annotations

import click
from flask import Flask
from flask_migrate import upgrade

from .extensions import db


def register(app: Flask) -> None:
    from . import backup

    backup.register(app)  # flask backup / flask restore

    @app.cli.command("load-demo")
    def load_demo_command() -> None:
        """Load Dortmund's goal system and the demo accounts (idempotent)."""
        from .demo import load_demo

        created = load_demo()
        click.echo("Demo-Daten geladen." if created else "Demo-Daten waren schon vorhanden; nichts geändert.")

    @app.cli.command("create-admin")
    @click.option("--email", prompt=True)
    @click.option("--name", prompt=True)
    @click.option("--password-stdin", is_flag=True,
                  help="Read the password from standard input (one line) instead of asking for it.")
    def create_admin(email: str, name: str, password_stdin: bool) -> None:
        """Create the first admin account. The password is asked for (hidden, twice) or read from stdin."""
        from .auth.passwords import set_password, validate_new_password
        from .models import User

        email = email.strip()
        if db.session.scalar(db.select(User).filter(db.func.lower(User.email) == email.lower())) is not None:
            raise click.ClickException(f"Es gibt schon ein Konto für {email}.")
        if password_stdin:
            password = click.get_text_stream("stdin").readline().rstrip("\r\n")
        else:
            password = click.prompt("Passwort", hide_input=True, confirmation_prompt="Passwort wiederholen")
        user = User(email=email, name=name.strip(), is_admin=True)
        with app.test_request_context():  # German messages need a locale, which is chosen per request
            problems = validate_new_password(password, user=user)
        if problems:
            raise click.ClickException(" ".join(problems))
        set_password(user, password)
        db.session.add(user)
        db.session.commit()
        click.echo(f"Admin-Konto {email} angelegt.")

    @app.cli.command("set-password-link")
    @click.argument("email")
    @click.option("--base-url", default="http://127.0.0.1:5000/", show_default=True,
                  help="The address users open the app at, for the printed link.")
    def set_password_link(email: str, base_url: str) -> None:
        """Print a one-time link to set the password of an account (e.g. an admin who forgot theirs)."""
        from .auth.links import create_set_password_link
        from .models import User

        user = db.session.scalar(db.select(User).filter(db.func.lower(User.email) == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"Es gibt kein Konto für {email}.")
        with app.test_request_context(base_url=base_url):
            link = create_set_password_link(user, created_by=None)
        db.session.commit()
        click.echo(link)

    @app.cli.command("send-mail")
    def send_mail_command() -> None:
        """Deliver e-mail that is still queued or failed before (e.g. while the SMTP server was down)."""
        from .mail import deliver_pending

        click.echo(f"{deliver_pending()} E-Mail(s) zugestellt.")

    @app.cli.command("export-worker")
    @click.option("--concurrency", default=1, show_default=True,
                  help="Jobs rendered at once by this worker (each uses PDF_RENDER_WORKERS renderer processes).")
    @click.option("--name", default=None, help="The worker's name in the queue's logs (default: host:pid).")
    @click.option("--once", is_flag=True, help="Render the jobs waiting now, then stop.")
    def export_worker(concurrency: int, name: str | None, once: bool) -> None:
        """Render PDF export jobs from the queue until stopped (EXPORT_QUEUE = "procrastinate"; any number of
        hosts). A worker that dies mid-job loses nothing: another one takes the job over."""
        from .exports.queue import run_worker

        run_worker(app, concurrency=concurrency, name=name, wait=not once)

    @app.cli.command("export-queue-schema")
    def export_queue_schema() -> None:
        """Create the queue's tables in PostgreSQL (Procrastinate's own schema), once per database."""
        from .exports.queue import apply_schema

        created = apply_schema(app.config["SQLALCHEMY_DATABASE_URI"])
        click.echo("Warteschlange angelegt." if created else "Die Warteschlange war schon angelegt; nichts geändert.")

    @app.cli.command("send-reminders")
    @click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Send as on this day (YYYY-MM-DD) instead of today, e.g. to catch up a missed run.")
    def send_reminders_command(day) -> None:
        """Mail the reminder digests of reporting rounds that are due (one per person and stage; idempotent)."""
        from .days import local_today
        from .mail import wait_for_delivery
        from .rounds.reminders import send_reminders

        count = send_reminders(day.date() if day else local_today())
        db.session.commit()
        wait_for_delivery(app, timeout=120)  # background delivery: do not exit before it is done
        click.echo(f"{count} Erinnerung(en) verschickt.")

    @app.cli.command("send-digests")
    def send_digests_command() -> None:
        """Mail each person who chose the daily digest their unread notifications (idempotent per day)."""
        from .mail import wait_for_delivery
        from .notifications import send_digests

        sent = send_digests()
        wait_for_delivery(app, timeout=60)
        click.echo(f"{sent} Sammel-E-Mail(s) verschickt.")

    @app.cli.command("setup-demo")
    @click.option("--address", default="http://127.0.0.1:5000/", help="Where the app will be served.")
    def setup_demo(address: str) -> None:
        """Bring the database up to date, load the demo data and print the address and demo accounts."""
        _setup_demo(address)

    @app.cli.command("serve-demo")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    def serve_demo(host: str, port: int) -> None:
        """setup-demo, then serve with the development server (for working on the app)."""
        from werkzeug.serving import run_simple

        _setup_demo(f"http://{host}:{port}/")
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


def _setup_demo(address: str) -> None:
    from .demo import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo

    upgrade()
    load_demo()
    roles = {None: "Administration", "steering": "Koordinierungsgruppe / Lenkung",
             "coordinator": "Handlungsfeld-Koordination", "partner": "Partner"}
    click.echo("")
    click.echo(f"  Gesamtstrategie läuft unter  {address}")
    click.echo("")
    click.echo(f"  Demo-Konten (Passwort für alle: {DEMO_PASSWORD}):")
    for email, _name, role, fields, _person, _org in DEMO_ACCOUNTS:
        what = roles[role.value if role else None]
        if fields:
            what += " für Handlungsfeld " + " und ".join(str(n) for n in fields)
        click.echo(f"    {email:<34} {what}")
    click.echo("")
