"""The label vocabulary has one home: SQL and code quote only its words."""

import re
from pathlib import Path

import pytest

from celeba_tui import vocabulary
from celeba_tui.store.schema import CURRENT_REFRESH_SQL, SCHEMA

PACKAGE = Path(vocabulary.__file__).parent


def test_sql_list_quotes_known_words_only():
    assert vocabulary.sql_list(vocabulary.ANNOTATOR_SOURCES) == "'human', 'import'"
    with pytest.raises(ValueError):
        vocabulary.sql_list(["humans"])


def test_schema_checks_exactly_the_vocabulary_sources():
    (checked,) = re.findall(r"CHECK \(source IN \(([^)]*)\)\)", SCHEMA)
    assert checked == vocabulary.sql_list(vocabulary.SOURCES)


def test_sql_literals_for_sources_and_statuses_are_vocabulary_words():
    """Every `source = '...'` / `status = '...'` / THEN '...' in the package's SQL names a word of the vocabulary."""
    words = set(vocabulary.SOURCES) | set(vocabulary.STATUSES)
    pattern = re.compile(r"(?:source|status)\s*=\s*'(\w+)'|THEN '(\w+)'")
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for match in pattern.finditer(path.read_text()):
            found.add(match.group(1) or match.group(2))
    assert found, "the pattern no longer finds the SQL it checks"
    assert found <= words, found - words
    assert {"review", "agreed", "conflict"} <= {m.group(2) for m in pattern.finditer(CURRENT_REFRESH_SQL) if m.group(2)}


def test_no_module_spells_its_own_source_or_status_tuple():
    """The tuples that used to be written in four modules are defined only here."""
    tuple_of_words = re.compile(r'^[A-Z_]+ = \((?:"(?:human|import|review|model|agreed|conflict)",? ?)+\)', re.M)
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "vocabulary.py" and tuple_of_words.search(p.read_text())
    ]
    assert offenders == []
