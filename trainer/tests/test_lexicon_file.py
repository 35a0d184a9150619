"""The lexicon file format (words.read_lexicon): plain lines and JSONL records, and a clear error for a broken record."""

import json

import pytest

from trainer.errors import ConfigError
from trainer.words import read_lexicon


def test_plain_lines_and_records_in_order_deduplicated(tmp_path):
    p = tmp_path / "lexicon.txt"
    p.write_text("PostgreSQL\n\n" + json.dumps({"word": "{IDF}", "score": 1}) + "\nrelational  database\nPostgreSQL\n"
                 + json.dumps({"other": 1}) + "\n")
    assert read_lexicon(str(p)) == ["PostgreSQL", "{IDF}", "relational  database"]


def test_a_broken_record_names_the_file_and_line(tmp_path):
    p = tmp_path / "lexicon.txt"
    p.write_text("awk\n{$formKeywords}\n")
    with pytest.raises(ConfigError, match=r"lexicon .*lexicon\.txt:2: a line starting with '\{' must be a JSON record"):
        read_lexicon(str(p))
