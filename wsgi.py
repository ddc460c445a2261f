"""Entry point for gunicorn: `gunicorn wsgi:app`."""
from strategy import create_app

app = create_app()
