"""A bare Flask app with one "hello" endpoint: what gunicorn and Flask cost per request before any of ours.

The HTTP benches serve it with the same gunicorn settings as wsgi:app, in the same run, so the app's own
cost per request reads as a ratio (`gunicorn bench.bare_app:app`)."""
from flask import Flask

app = Flask(__name__)


@app.route("/hello")
def hello() -> str:
    return "hello"
