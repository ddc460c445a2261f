"""Passwords: argon2id hashing, the password policy (length and a list of common passwords, no composition
rules) and setting or changing a password. Nothing here commits."""
from __future__ import annotations

import functools
import gzip
import re
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import gettext as _

from ..api.auth import revoke_all
from ..audit import AuditAction, record_event
from ..models import User, utcnow
from .sessions import end_all_sessions
from .throttling import reset_counter

# argon2id with argon2-cffi's current recommended parameters: what production uses.
_RECOMMENDED = PasswordHasher()

MIN_LENGTH = 12
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")
# Words anyone would try first against this application, in addition to the general list.
CONTEXT_WORDS = frozenset({
    "gesamtstrategie", "neuzuwanderung", "zuwanderung", "integration", "strategie", "dortmund", "stadtdortmund",
    "handlungsfeld", "handlungsrahmen", "lenkungskreis", "koordination", "passwort", "kennwort", "password",
    "willkommen", "geheim", "sommer", "winter", "fruehling", "frühling", "herbst", "admin", "administrator",
})
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list, lower-cased; read once per process, never fetched at run time."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def _limits() -> tuple[int, int]:
    if has_app_context():
        return (current_app.config.get("PASSWORD_MIN_LENGTH", MIN_LENGTH),
                current_app.config.get("PASSWORD_MAX_LENGTH", MAX_LENGTH))
    return MIN_LENGTH, MAX_LENGTH


def too_long(password: str) -> bool:
    """Checked before any hashing, so a huge password costs nothing."""
    return len(password) > _limits()[1]


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """German messages for everything wrong with a new password; empty when it is acceptable."""
    minimum, maximum = _limits()
    if len(password) > maximum:
        return [_("Das Passwort darf höchstens %(n)d Zeichen lang sein.", n=maximum)]
    if len(password) < minimum:
        return [_("Das Passwort muss mindestens %(n)d Zeichen lang sein.", n=minimum)]
    lowered = password.lower()
    # "Sommer2026!" and "!!passwort123456" are as guessable as the word in the middle.
    core = _EDGES.sub("", lowered)
    if lowered in common_passwords() or core in common_passwords() or core in CONTEXT_WORDS:
        return [_("Dieses Passwort ist zu leicht zu erraten: es steht auf einer Liste häufig benutzter Passwörter. "
                  "Wählen Sie bitte ein anderes, z. B. mehrere zufällige Wörter.")]
    if len(set(lowered)) < 4 or lowered in (lowered[:3] * 50)[:len(lowered)]:
        return [_("Dieses Passwort ist zu leicht zu erraten: es besteht fast nur aus Wiederholungen.")]
    personal = {email.lower(), email.lower().partition("@")[0], name.lower(), name.lower().replace(" ", "")}
    if any(part and len(part) >= 4 and (core == part or lowered == part) for part in personal):
        return [_("Das Passwort darf nicht Ihre E-Mail-Adresse oder Ihr Name sein.")]
    return []


@functools.cache
def _hasher_with(parameters: tuple[tuple[str, int], ...]) -> PasswordHasher:
    return PasswordHasher(**dict(parameters)) if parameters else _RECOMMENDED


def _hasher() -> PasswordHasher:
    """`PASSWORD_HASH_PARAMETERS` (argon2's time_cost, memory_cost, parallelism) replaces the recommended
    parameters; only the tests set it, so that thousands of logins do not each cost a second of CPU."""
    parameters = current_app.config.get("PASSWORD_HASH_PARAMETERS") if has_app_context() else None
    return _hasher_with(tuple(sorted((parameters or {}).items())))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("kein-konto-platzhalter")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password. Without a hash (no such account) a dummy hash is verified instead, so the
    unknown-account path runs the same argon2 verification and takes the same time."""
    hasher = _hasher()
    try:
        ok = hasher.verify(password_hash or _dummy_hash(hasher), password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def validate_new_password(password: str, *, user: User | None = None) -> list[str]:
    """German messages for what is wrong with a new password (empty list: acceptable)."""
    return password_problems(password, email=user.email if user else "", name=user.name if user else "")


def set_password(user: User, password: str) -> None:
    """Store a new password (already validated) and clear any login lock."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    reset_counter(user)


def change_password(user: User, current_password: str, new_password: str, *,
                    revoke_api_tokens: bool = False) -> dict[str, list[str]]:
    """The account page's password change. Returns errors per form field; on success every session of the
    account has ended (the caller starts a fresh one for the browser that asked) and, if asked, every API token
    of the account is revoked."""
    if too_long(current_password) or not verify_password(user.password_hash, current_password):
        record_event(AuditAction.PASSWORD_CHANGE_FAILED, user, object_type="user", object_id=user.id)
        return {"current_password": [_("Das aktuelle Passwort stimmt nicht.")]}
    problems = validate_new_password(new_password, user=user)
    if not problems and new_password == current_password:
        problems = [_("Das neue Passwort muss sich vom bisherigen unterscheiden.")]
    if problems:
        return {"new_password": problems}
    set_password(user, new_password)
    end_all_sessions(user)
    revoked = revoke_all(user) if revoke_api_tokens else 0
    record_event(AuditAction.PASSWORD_CHANGED, user, object_type="user", object_id=user.id,
                 detail={"api_tokens_revoked": revoked} if revoked else None)
    return {}
