"""Word-level differences between two texts, for history, comparisons and change reports."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

# Words with their trailing white space, so joining the pieces gives back the text exactly.
_TOKEN = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class Piece:
    op: str  # "equal" | "insert" | "delete"
    text: str


def word_diff(old: str | None, new: str | None) -> list[Piece]:
    """The pieces that turn `old` into `new`, word by word; a replaced run is a delete then an insert."""
    a = _TOKEN.findall(old or "")
    b = _TOKEN.findall(new or "")
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    pieces: list[Piece] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(Piece("equal", "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            pieces.append(Piece("delete", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            pieces.append(Piece("insert", "".join(b[j1:j2])))
    return pieces


def has_changes(pieces: list[Piece]) -> bool:
    return any(piece.op != "equal" for piece in pieces)
