"""`flask` commands: demo data, first admin, serving the demo."""
from __future__ import annotations

import getpass

import click
from flask import Flask
from flask_migrate import upgrade

from .extensions import db


def register(app: Flask) -> None:
    @app.cli.command("load-demo")
    def load_demo_command() -> None:
        """Load Dortmund's goal system and the demo accounts (idempotent)."""
        from .demo import load_demo

        created = load_demo()
        click.echo("Demo-Daten geladen." if created else "Demo-Daten waren schon vorhanden; nichts geändert.")

    @app.cli.command("create-admin")
    @click.option("--email", prompt=True)
    @click.option("--name", prompt=True)
    def create_admin(email: str, name: str) -> None:
        """Create the first admin account; the password is asked for interactively."""
        from .auth.passwords import hash_password
        from .models import User

        if db.session.scalar(db.select(User).filter_by(email=email)) is not None:
            raise click.ClickException(f"Es gibt schon ein Konto für {email}.")
        password = getpass.getpass("Passwort: ")
        if len(password) < 12:
            raise click.ClickException("Das Passwort muss mindestens 12 Zeichen lang sein.")
        db.session.add(User(email=email, name=name, password_hash=hash_password(password), is_admin=True))
        db.session.commit()
        click.echo(f"Admin-Konto {email} angelegt.")

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
