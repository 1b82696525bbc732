"""Chunking follows the document's structure, keeps positions, and overlaps."""
from __future__ import annotations

from pathlib import Path

import pytest

from ragtui.rag.chunking import chunk_document
from ragtui.rag.loaders import LoadError, load_bytes, load_html, load_markdown, load_restructured

from .pdf import minimal_pdf

GUIDE = """# Kettle manual

The kettle boils water.

## Cleaning

Descale the kettle monthly with vinegar.

```sh
# this comment is code, not a heading
descale --now
```

## Safety

Never run the kettle dry.
"""


def test_markdown_chunks_carry_their_heading_path():
    chunks = chunk_document(load_markdown("/docs/kettle.md", GUIDE, default_title="kettle"))
    titles = [c.title for c in chunks]
    assert titles == ["Kettle manual", "Kettle manual › Cleaning", "Kettle manual › Safety"]
    cleaning = chunks[1]
    assert "# this comment is code" in cleaning.text  # a fenced '#' line is not a heading
    assert cleaning.source == "/docs/kettle.md"


def test_positions_point_back_into_the_original_text():
    for chunk in chunk_document(load_markdown("k.md", GUIDE, default_title="k")):
        assert GUIDE[chunk.start:chunk.end] == chunk.text
        assert chunk.location == f"chars {chunk.start}-{chunk.end}"


def _long_text(paragraphs: int) -> str:
    return "\n\n".join(
        " ".join(f"Paragraph {p} sentence {s} says something about topic {p * 10 + s}." for s in range(6))
        for p in range(paragraphs)
    )


def test_long_sections_split_within_size_and_overlap():
    text = _long_text(12)
    chunks = chunk_document(load_markdown("long.md", text, default_title="long"), max_chars=400, overlap=120)
    assert len(chunks) > 5
    assert all(len(c.text) <= 400 for c in chunks)
    for before, after in zip(chunks, chunks[1:]):
        assert after.start < before.end, "consecutive chunks share their boundary sentences"
        assert before.end - after.start <= 120
    # Every sentence is whole in at least one chunk.
    for p in range(12):
        for s in range(6):
            sentence = f"Paragraph {p} sentence {s} says something about topic {p * 10 + s}."
            assert any(sentence in c.text for c in chunks), sentence


def test_chunks_prefer_paragraph_ends():
    text = _long_text(6)
    chunks = chunk_document(load_markdown("p.md", text, default_title="p"), max_chars=900, overlap=0)
    paragraph_ends = tuple(f"topic {p * 10 + 5}." for p in range(6))
    assert len(chunks) > 1
    assert all(c.text.endswith(paragraph_ends) for c in chunks)  # never mid-paragraph


def test_a_single_huge_word_run_is_still_cut_to_size():
    text = "x" * 2500
    chunks = chunk_document(load_markdown("x.md", text, default_title="x"), max_chars=800, overlap=100)
    assert [len(c.text) for c in chunks] == [800, 800, 800, 100]


def test_restructured_text_titles_and_levels():
    rst = "Guide\n=====\n\nIntro.\n\nInstall\n-------\n\nRun pip.\n\nUsage\n=====\n\nRun it.\n"
    doc = load_restructured("g.rst", rst, default_title="g")
    assert doc.title == "Guide"
    assert [s.heading for s in doc.sections] == ["Guide", "Guide › Install", "Usage"]


def test_html_drops_scripts_and_sections_at_headings():
    page = ("<html><head><title>Kettles</title><script>steal()</script></head><body>"
            "<h1>Kettles</h1><p>They boil.</p><h2>Descaling</h2><p>Use vinegar.</p></body></html>")
    doc = load_html("k.html", page, default_title="k")
    chunks = chunk_document(doc)
    assert doc.title == "Kettles"
    assert [(c.title, c.text) for c in chunks] == [("Kettles", "They boil."), ("Kettles › Descaling", "Use vinegar.")]
    assert not any("steal" in c.text for c in chunks)


def test_pdf_chunks_are_per_page():
    data = minimal_pdf(["The first page is about kettles.", "The second page is about descaling."])
    chunks = chunk_document(load_bytes(Path("/docs/manual.pdf"), data))
    assert [(c.page, c.location) for c in chunks] == [(1, "page 1"), (2, "page 2")]
    assert "descaling" in chunks[1].text


def test_source_code_sections_at_definitions():
    code = "import os\n\n\ndef boil(water):\n    return water + 100\n\n\nclass Kettle:\n    pass\n"
    chunks = chunk_document(load_bytes(Path("/src/kettle.py"), code.encode()))
    assert [c.title for c in chunks] == ["kettle.py", "kettle.py › def boil(water)", "kettle.py › class Kettle"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("blob.txt", b"\x00\x01\x02binary", "binary"),
        ("latin1.txt", "café".encode("latin-1"), "not UTF-8"),
        ("broken.pdf", b"%PDF-1.4 truncated", "unreadable PDF"),
        ("blank.md", b"   \n\n", "no text"),
    ],
)
def test_unusable_files_raise_a_reason(name, data, reason):
    with pytest.raises(LoadError, match=reason):
        load_bytes(Path(name), data)


FRONT_MATTER = """---
arguments:
- name: key
complexity: O(1)
description: Returns the expiration time in seconds of a key.
title: "TTL"
---
Returns the remaining time to live of a key.

## Examples
TTL mykey
"""


def test_markdown_front_matter_gives_the_title_and_only_its_description_is_text():
    doc = load_markdown("/docs/commands/ttl.md", FRONT_MATTER, default_title="ttl")
    assert doc.title == "TTL"
    texts = [s.text.strip() for s in doc.sections]
    assert texts[0] == "description: Returns the expiration time in seconds of a key."
    assert not any("complexity" in t or "arguments" in t for t in texts)
    assert [c.title for c in chunk_document(doc)] == ["TTL", "TTL", "TTL › Examples"]
    for section in doc.sections:
        assert FRONT_MATTER[section.start:section.start + len(section.text)] == section.text


def test_a_rule_or_an_unclosed_block_is_not_front_matter():
    assert load_markdown("/x.md", "---\nnot closed\n# Real\ntext\n", default_title="x").title == "Real"
    doc = load_markdown("/x.md", "# A\n\ntext\n\n---\n\nmore\n", default_title="x")
    assert [s.heading for s in doc.sections] == ["A"] and "more" in doc.sections[0].text
