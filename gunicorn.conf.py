"""gunicorn reads this file from the working directory (`gunicorn wsgi:app`); command-line flags override it."""


def post_worker_init(worker):
    # Each worker process has its own PDF renderers; starting them now spares the first export the wait.
    from strategy.exports.services import start_renderers

    start_renderers(worker.wsgi)
