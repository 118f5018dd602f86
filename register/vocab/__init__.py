"""The register's vocabularies: DTPR device terms (plus marked local ones) and SenML units.

`terms.tsv` keeps DTPR's element ids and names, so an export reads in DTPR tools, and adds a
one-line plain-English explanation of each term for residents. `senml_units.tsv` holds the SenML
units registry (RFC 8428 and its IANA additions, RFC 8798 secondary units) and a few local units.
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from functools import cache
from importlib import resources

# The DTPR categories a device entry uses, with the field that holds each.
DEVICE_CATEGORIES = {
    "technology": "technology",
    "purposes": "purpose",
    "data_types": "data_type",
    "processing": "processing",
    "storage": "storage",
    "access": "access",
}


@dataclass(frozen=True)
class Term:
    category: str
    id: str
    name: str
    local: bool
    explanation: str


@dataclass(frozen=True)
class Unit:
    symbol: str
    kind: str  # primary | secondary | local
    description: str
    base: str | None
    scale: float | None
    offset: float | None


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("register.vocab").joinpath(filename).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


@cache
def all_terms() -> tuple[Term, ...]:
    """Every term of every category, in file order."""
    return tuple(
        Term(r["category"], r["id"], r["name"], r["source"] == "local", r["explanation"])
        for r in _rows("terms.tsv")
    )


@cache
def _index() -> dict[str, dict[str, Term]]:
    index: dict[str, dict[str, Term]] = {}
    for term in all_terms():
        index.setdefault(term.category, {})[term.id] = term
    return index


def categories() -> list[str]:
    """The vocabulary's categories."""
    return list(_index())


def terms(category: str) -> list[Term]:
    """The terms of one category, in the vocabulary's order; KeyError for an unknown category."""
    return list(_index()[category].values())


def term(category: str, term_id: str) -> Term | None:
    """One term, or None when the category has no such id."""
    return _index().get(category, {}).get(term_id)


def close_terms(category: str, word: str) -> list[str]:
    """Ids of the category that look like a misspelling of `word`, best first."""
    ids = list(_index().get(category, {}))
    normalised = word.strip().lower().replace(" ", "_").replace("-", "_").replace("&", "")
    by_name = [t.id for t in terms(category) if t.name.lower() == word.strip().lower()]
    if normalised in ids or by_name:
        return ([normalised] if normalised in ids else []) + by_name
    close = difflib.get_close_matches(normalised, ids, n=3, cutoff=0.6)
    # A fragment of an id ("safety" for safety_security) is as good a hint as a typo.
    fragments = [i for i in ids if len(normalised) >= 3 and normalised in i and i not in close]
    return (close + fragments)[:3]


@cache
def units() -> dict[str, Unit]:
    """Every known unit by its symbol."""
    found = {}
    for r in _rows("senml_units.tsv"):
        found[r["symbol"]] = Unit(
            r["symbol"],
            r["kind"],
            r["description"],
            r["base"] or None,
            float(r["scale"]) if r["scale"] else None,
            float(r["offset"]) if r["offset"] else None,
        )
    return found


def close_units(symbol: str) -> list[str]:
    """Known unit symbols that look like `symbol`, best first (case slips first: 'cel' -> 'Cel')."""
    known = list(units())
    same_but_case = [u for u in known if u.lower() == symbol.strip().lower()]
    return same_but_case or difflib.get_close_matches(symbol.strip(), known, n=3, cutoff=0.5)
