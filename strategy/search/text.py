"""German text for the search index and for queries, made in Python so that both engines agree.

Both engines index exactly the terms made here (PostgreSQL through the `simple` configuration, SQLite
FTS5 through `unicode61`), so a word matches on one engine exactly when it matches on the other:

- `terms`: each word lower-cased and stemmed with Snowball's German stemmer (PyStemmer; the same algorithm
  as PostgreSQL's `german` configuration), then folded. The stemmer folds umlauts and ß itself and also
  reads ae/oe/ue as umlauts, so `Strasse` and `Straße`, `Gefluchtete`, `Gefluechtete` and `Geflüchtete`,
  `Beratungsangebote` and `Beratungsangebot` give the same term.
- `fold`: lower case, ß as ss, diacritics removed; the folded text is searched for parts of compounds
  (`kurs` finds `Integrationskurs`) through a trigram index on each engine.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import Stemmer
from markupsafe import Markup, escape

# Letters and digits; the underscore is no part of a word (FTS5's unicode61 splits at it as well).
WORD = re.compile(r"[^\W_]+", re.UNICODE)
# A query word searched inside compounds must be this long (as a stem): shorter ones match everywhere.
MIN_PART = 4
MAX_QUERY_TERMS = 12

_stemmer = Stemmer.Stemmer("german")


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char == "ß":
        return "ss"
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case, ß → ss, without diacritics (ä → a, é → e)."""
    # Character by character only where a text is not ASCII (reindexing folds millions of texts).
    return _NON_ASCII.sub(lambda m: _fold_char(m.group()), text.lower())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    # Stemmed before folding: the stemmer's rules read umlauts; it folds them itself at the end.
    return fold(_stemmer.stemWord(word.lower()))


def words(text: str) -> list[str]:
    return WORD.findall(text or "")


def terms(text: str) -> str:
    """The stemmed terms of a text, space-separated, in order (positions matter for phrases)."""
    return " ".join(stem(word) for word in words(text))


# --- queries -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    """One word or one quoted phrase of a query, as stems; `part` is the stem searched inside compounds."""

    stems: tuple[str, ...]
    text: str

    @property
    def is_phrase(self) -> bool:
        return len(self.stems) > 1

    @cached_property
    def part(self) -> str | None:
        """The stem (`Kurse` → `kurs`), or the folded word where the stem is too short to search inside
        other words (`Kurs` → stem `kur`, searched as `kurs`)."""
        if self.is_phrase:
            return None
        for candidate in (self.stems[0], fold(self.text)):
            if len(candidate) >= MIN_PART and WORD.fullmatch(candidate):
                return candidate
        return None


@dataclass(frozen=True)
class Query:
    """A parsed query: words and phrases that must all occur, and words or phrases that must not."""

    required: tuple[Term, ...] = ()
    excluded: tuple[Term, ...] = ()
    text: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.required

    @cached_property
    def judged(self) -> dict[str, int | None]:
        """Words of the hits' texts already judged by the highlighting: word → the term that found it."""
        return {}


_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)(\S+)')


def parse_query(text: str) -> Query:
    """Words, "quoted phrases" and -excluded words, as a search box reads them (like websearch_to_tsquery)."""
    required: list[Term] = []
    excluded: list[Term] = []
    for match in _TOKEN.finditer(text or ""):
        negated = bool(match.group(1) or match.group(3))
        raw = match.group(2) if match.group(2) is not None else match.group(4)
        stems = tuple(stem(word) for word in words(raw))
        if not stems:
            continue
        # A hyphenated word ("SGB-II") gives several stems: searched as a phrase, its parts side by side.
        term = Term(stems, raw.strip())
        target = excluded if negated else required
        if term not in target and len(required) + len(excluded) < MAX_QUERY_TERMS:
            target.append(term)
    return Query(tuple(required), tuple(excluded), text=(text or "").strip())


# --- highlighting ---------------------------------------------------------------------------------

def _matching_term(word: str, query: Query) -> int | None:
    """The index of the first required term that finds `word`, or None."""
    word_stem = stem(word)
    folded = fold(word)
    for number, term in enumerate(query.required):
        if word_stem in term.stems or (term.part and term.part in folded):
            return number
    return None


def _found(text: str, query: Query) -> list[tuple[int, int, int]]:
    """(start, end, term) of each word of `text` that the query found; each distinct word is judged once
    per query (a page of hits repeats the same words many times)."""
    judged = query.judged
    found = []
    for match in WORD.finditer(text):
        word = match.group()
        if word not in judged:
            judged[word] = _matching_term(word, query)
        if judged[word] is not None:
            found.append((*match.span(), judged[word]))
    return found


def matched_words(text: str, query: Query) -> list[str]:
    """The words of `text` that the query found, as written (for highlighting on the page a hit opens)."""
    seen: dict[str, None] = {}
    for start, end, _ in _found(text or "", query):
        seen.setdefault(text[start:end], None)
    return list(seen)


def snippet(text: str, query: Query, width: int = 220) -> Markup:
    """A passage of `text` with every found word in <mark>: the passage where most of the query's terms
    occur (the first such, for a query of one word the first found word), starting a little before it.

    Made here for both engines (not by ts_headline or FTS5's snippet()): those mark what each engine's own
    tokens matched, the stored terms are stems, and the two would mark different words of the same text."""
    text = " ".join((text or "").split())
    spans = _found(text, query)
    start = 0
    if spans:
        lead = width // 3
        first = spans[0][0]
        if len(query.required) > 1:
            # The found word after which most of the query's terms follow within the passage.
            first = max(spans[:200], key=lambda span: (
                len({term for begin, _, term in spans if span[0] <= begin < span[0] + width - lead}), -span[0]))[0]
        start = max(0, first - lead)
        if start:
            space = text.rfind(" ", 0, start)
            start = space + 1 if space >= 0 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.find(" ", end)
        end = space if space >= 0 else len(text)
    out = [Markup("… ") if start else Markup("")]
    cursor = start
    for begin, finish, _ in spans:
        if begin < start or finish > end:
            continue
        out.append(escape(text[cursor:begin]))
        out.append(Markup("<mark>%s</mark>") % text[begin:finish])
        cursor = finish
    out.append(escape(text[cursor:end]))
    if end < len(text):
        out.append(Markup(" …"))
    return Markup("").join(out)
