"""Random secrets handed out in links and cookies: only their SHA-256 is stored, never the secret itself."""
from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
