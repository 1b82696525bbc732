"""Evidence is extracted from the passages (never generated) and survives being stored."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ragtui.rag.evidence import extract, sentences, shown
from ragtui.source import Source, ranked_evidence

SESSIONS = """# Sessions

## Time to live (TTL)

Sessions expire after a period of inactivity: by default **1 hour (3600 seconds) of idle
time**. The expiry is sliding: every new message resets the clock.

- A pinned session never expires, whatever the TTL.
- `--ttl 0` means sessions never expire.

```
ragtui --ttl 7200
```
"""
STORE = """Conversations live in a Redis server. If Redis goes away in the middle of a
conversation, nothing you typed is lost: ragtui keeps saving locally and the header shows
"degraded — saving locally". How durable the data is depends on the Redis server."""


def test_sentences_are_prose_list_items_and_rows_never_headings_or_code():
    found = sentences(SESSIONS)
    assert found[0].startswith("Sessions expire after a period of inactivity")
    assert "The expiry is sliding: every new message resets the clock." in found
    assert "A pinned session never expires, whatever the TTL." in found
    assert not any(s.startswith(("#", "ragtui --ttl", "Time to live")) for s in found)


def test_the_sentence_that_answers_is_chosen_from_the_passage_that_holds_it():
    passages = [Source(1, "/a/store.md", "Store", "chars 0-9", STORE),
                Source(2, "/a/sessions.md", "Sessions", "chars 0-9", SESSIONS)]
    best = extract("How long do sessions last by default?", passages, embed=None)
    assert best[0].n == 2 and "3600 seconds" in best[0].text
    best = extract("What happens when Redis goes away mid-conversation?", passages, embed=None)
    assert best[0].n == 1 and "keeps saving locally" in best[0].text
    assert len(best) <= 2


def test_embeddings_decide_between_sentences_with_the_same_words():
    passages = [Source(1, "/a.md", "Pets › Cats", "", "The cat sat on the mat today. The cat ate the fish today.")]
    # Each sentence is embedded under its heading.
    vectors = {"what did the cat eat today?": [1.0, 0.0], "Cats: The cat ate the fish today.": [0.9, 0.1],
               "Cats: The cat sat on the mat today.": [0.0, 1.0]}
    best = extract("what did the cat eat today?", passages, lambda text: np.array(vectors[text]), limit=1)
    assert [e.text for e in best] == ["The cat ate the fish today."]


def test_with_a_batch_embedder_a_sentence_sharing_no_word_with_the_question_can_win():
    others = " ".join(f"The cat number {i} sat on a mat today." for i in range(20))
    passages = [Source(1, "/a.md", "Pets", "", f"{others} Felines rest on woven rugs.")]

    def embed_many(texts):  # the question and the felines point one way, the rest another
        return np.array([[1.0, 0.0] if t.startswith(("where", "Pets: Felines")) else [0.0, 1.0] for t in texts])

    best = extract("where did the cat sit?", passages, None, limit=1, embed_many=embed_many)
    assert [e.text for e in best] == ["Felines rest on woven rugs."]


def test_nothing_to_quote_gives_no_evidence():
    assert extract("anything?", [], embed=None) == []
    assert extract("the?", [Source(1, "/a.md", "A", "", "Too short.")], embed=None) == []


def test_evidence_stored_with_the_sources_comes_back_in_its_order_and_old_messages_have_none():
    cited = Source(1, "/a.md", "A", "", "text", 0.5, cited=True, evidence=((2, "second best"),))
    other = Source(2, "/b.md", "B", "", "text", 0.4, evidence=((1, "best"),))
    stored = Source.from_dicts(json.loads(json.dumps([c.to_dict() for c in (cited, other)])))
    assert ranked_evidence(stored) == [(2, "best"), (1, "second best")]
    old = {"n": 1, "source": "/a.md", "title": "A", "location": "", "text": "t", "score": 0.5, "cited": True}
    assert ranked_evidence(Source.from_dicts([old])) == []


def test_the_app_quotes_stored_evidence_under_the_answer_as_plain_text():
    from ragtui.tui.widgets.chat_messages import evidence_lines

    source = Source(2, "/a.md", "A", "", "t", 0.5, evidence=((1, "Keys [bold]expire[/] in 1 h."),))
    assert evidence_lines([source]).plain == "Evidence:\n  [2] “Keys [bold]expire[/] in 1 h.”"
    assert evidence_lines(Source.from_dicts([{"n": 1, "source": "/old.md"}])) is None  # stored before evidence existed


def test_ragtui_ask_prints_the_evidence_without_the_documents_escape_sequences(capsys):
    from ragtui.commands.rag import print_notes

    print_notes([Source(3, "/d/\x1b]0;x\x07a.md", "A", "", "t", evidence=((1, "Port 7341 \x1b[2Jby default."),))])
    assert capsys.readouterr().out == "\nEvidence:\n  [3] “Port 7341 by default.”\n\nSources:\n  [3] A — /d/a.md\n"
    print_notes([])
    assert capsys.readouterr().out == ""


def test_a_sentence_in_two_overlapping_passages_is_quoted_once_from_the_better_one():
    overlap = "Sessions survive restarts of the app. Every change is appended to a journal file and flushed."
    passages = [Source(1, "/a.md", "Local", "", overlap), Source(2, "/a.md", "Local", "", overlap)]
    best = extract("How do sessions survive restarts?", passages, embed=None)
    assert len({e.text for e in best}) == len(best) == 2 and {e.n for e in best} == {1}


# -- quotes read as plain, whole sentences that stand on their own -----------------------

GUIDE = """## Data directory

The data directory holds the **document index** and the `store/` journal; see
[platformdirs](https://platformdirs.readthedocs.io) for where it lives. Inside it:

- `index/` — the LanceDB index of your documents;
- `store/` — the journal of the local session store;
- `models/` — GGUF model files you add.

    ragtui ingest PATH... [--rebuild]

Indexes files and folders (folders recursively). Hidden files are skipped.
"""


def test_quotes_are_plain_text_without_markdown():
    quoted = sentences(GUIDE)
    assert ("The data directory holds the document index and the store/ journal; see platformdirs "
            "for where it lives.") in quoted
    assert not any(mark in q for q in quoted for mark in ("**", "`", "](", "- "))


def test_a_list_is_offered_whole_after_its_lead_in_and_item_by_item():
    quoted = sentences(GUIDE)
    assert ("Inside it: index/ — the LanceDB index of your documents; store/ — the journal of the local "
            "session store; models/ — GGUF model files you add.") in quoted
    assert "store/ — the journal of the local session store;" in quoted


def test_a_description_is_quoted_with_the_command_it_describes():
    assert "ragtui ingest PATH... [--rebuild] — Indexes files and folders (folders recursively)." in sentences(GUIDE)
    assert "Hidden files are skipped." in sentences(GUIDE)  # later sentences stand alone


def test_a_passage_cut_inside_sentences_marks_them_with_an_ellipsis():
    cut = "the first ones stay the same. An index made by an older\nversion is rebuilt. A progress bar sho"
    assert sentences(cut) == ["… the first ones stay the same.", "An index made by an older version is rebuilt.",
                              "A progress bar sho …"]


def test_a_long_sentence_is_cut_between_words_and_marked():
    long = "Sessions " + "expire after an hour of idle time and " * 20 + "end."
    [quoted] = sentences(long)
    assert len(quoted) <= 402 and quoted.endswith(" …") and quoted[:-2] in long
    assert quoted[:-2].rsplit(" ", 1)[-1] in long.split()  # the last word is whole


def test_a_sentence_that_leans_on_the_one_before_is_quoted_with_it():
    from pydoc_data.topics import topics

    quoted = sentences(topics["continue"])
    leaning = [q for q in quoted if "It continues with the next cycle" in q]
    assert leaning and all(q.startswith('"continue" may only occur') for q in leaning)


def test_a_method_description_is_quoted_with_its_signature():
    from pydoc_data.topics import topics

    text = topics["typesmapping"]
    start = text.index("setdefault(key[, default])")
    quoted = sentences(text[start:start + 300])
    assert any(q.startswith("setdefault(key[, default]) — If key is in the dictionary")
               and "If not, insert key with a value of default" in q for q in quoted)


@pytest.fixture(scope="module")
def reference(embedder):
    """Some of Python's reference topics, loaded and cut as the index does, with their vectors."""
    from pydoc_data.topics import topics

    from ragtui.rag.chunking import chunk_document
    from ragtui.rag.loaders import load_restructured

    names = ("continue", "break", "while", "with", "context-managers", "pass", "yield")
    chunks = [c for name in names
              for c in chunk_document(load_restructured(f"python-docs:{name}", topics[name], default_title=name))]
    return chunks, embedder.embed([c.text for c in chunks])


@pytest.mark.parametrize(("question", "answer"), [
    ("What does the continue statement do?", "next cycle of the nearest enclosing loop"),
    ("Which method is called when a with statement enters its context manager?", '"__enter__()"'),
    ("What does the pass statement do?", "null operation"),
    ("What turns a function into a generator function?", "yield"),
])
def test_the_answering_sentence_is_shown_from_real_passages(embedder, reference, question, answer):
    chunks, vectors = reference
    similarity = vectors @ embedder.embed_query(question)
    best = [chunks[i] for i in np.argsort(-similarity)[:5]]  # a vector search, as the index does it
    passages = [Source(n, c.source, c.title, "", c.text) for n, c in enumerate(best, start=1)]
    found = extract(question, passages, embedder.embed_query, embed_many=embedder.embed)  # as ChatService does
    assert any(answer in e.text for e in shown(found))


# -- plain-text manuals, options, operators ---------------------------------------------

MANUAL = """TAC(1)                           User Commands                          TAC(1)

NAME
       tac - concatenate and print files in reverse

SYNOPSIS
       tac [OPTION]... [FILE]...

DESCRIPTION
       Write  each FILE to standard output, last line first.  The separa‐
       tor is a newline.

       -r, --regex
              interpret the separator as a regular expression

       -R, --reverse-order
              walk the files from the end

AUTHOR
       Written by Jay Lepreau and David MacKenzie.

SEE ALSO
       Full documentation <https://www.gnu.org/software/coreutils/tac>
       or available locally via: info '(coreutils) tac invocation'
"""


def test_a_manual_page_is_read_by_its_sections():
    quoted = sentences(MANUAL)
    assert "tac - concatenate and print files in reverse" in quoted  # a line nothing describes stands alone
    assert "Write each FILE to standard output, last line first." in quoted  # no "DESCRIPTION — " glued on
    assert "The separator is a newline." in quoted  # the word broken at the line end is whole again
    assert not any("User Commands" in q or q.startswith(("NAME", "SYNOPSIS", "DESCRIPTION")) for q in quoted)


def test_what_a_program_does_comes_from_its_description_not_its_credits_or_links():
    passages = [Source(1, "/man/tac.txt", "tac", "chars 0-900", MANUAL)]
    best = extract("What does tac do?", passages, embed=None)
    assert not any("Written by" in e.text or "Full documentation" in e.text for e in best)
    assert any("last line first" in e.text for e in best)


def test_a_short_option_is_told_from_its_capital_and_an_operator_counts_as_a_word():
    passages = [Source(1, "/man/tac.txt", "tac", "", MANUAL)]
    assert "regular expression" in extract("What does tac -r do?", passages, embed=None, limit=1)[0].text
    assert "from the end" in extract("What does tac -R do?", passages, embed=None, limit=1)[0].text
    operators = Source(1, "python-docs:binary", "Binary arithmetic operations", "",
                       'The "%" (modulo) operator yields the remainder from the division.\n\n'
                       'The "//" (floor division) operator yields the floor of the quotient.')
    assert "remainder" in extract("What does the % operator compute?", [operators], embed=None, limit=1)[0].text
    assert "floor" in extract("What does // compute?", [operators], embed=None, limit=1)[0].text


def test_a_sentence_opening_with_a_condition_is_not_about_its_first_words():
    text = ('When "return" passes control out of a "try" statement, the "finally" clause runs first.\n\n'
            '"return" leaves the current function call with the expression list as return value.')
    best = extract("What does return do?", [Source(1, "python-docs:return", "Return", "", text)], embed=None, limit=1)
    assert best[0].text.startswith('"return" leaves')


def test_a_grid_table_row_is_quoted_whole_and_a_padded_row_is_not_a_header():
    from pydoc_data.topics import topics

    rows = sentences(topics["operator-summary"])
    assert '"*", "@", "/", "//", "%" · Multiplication, matrix multiplication, division, floor division, ' \
           'remainder' in rows  # without the footnote mark "[6]"
    padded = "| `hybrid`      | vector and full-text, scored together          |\n"
    assert sentences(padded) == ["hybrid · vector and full-text, scored together"]


def test_a_where_question_prefers_the_sentence_naming_a_folder():
    text = ("The index is rebuilt from the same files with --rebuild.\n\n"
            "The data directory holds what ragtui keeps. Inside it, index/ holds your documents.")
    best = extract("Where is the index kept?", [Source(1, "/a.md", "Files", "", text)], embed=None, limit=1)
    assert "index/" in best[0].text


# Real text from the rendered manual pages (man -P cat) and Python's reference topics.
LS_OPTIONS = """       --time-style=TIME_STYLE
              time/date format with -l; see TIME_STYLE below

       -t     sort by time, newest first; see --time

       -T, --tabsize=COLS
              assume tab stops at each COLS instead of 8
"""
UPTIME = """UPTIME(1)                        User Commands                       UPTIME(1)

NAME
       uptime - Tell how long the system has been running.

SYNOPSIS
       uptime [options]

DESCRIPTION
       uptime gives a one line display of the following information.  The cur‐
       rent time, how long the system has been running,  how  many  users  are
       currently  logged  on,  and the system load averages for the past 1, 5,
       and 15 minutes.

OPTIONS
       -p, --pretty
              show uptime in pretty format
"""
TEE = """TEE(1)                           User Commands                          TEE(1)

NAME
       tee - read from standard input and write to standard output and files

SYNOPSIS
       tee [OPTION]... [FILE]...

DESCRIPTION
       Copy standard input to each FILE, and also to standard output.

       -a, --append
              append to the given FILEs, do not overwrite
"""
STDBUF = """       NOTE:  If  COMMAND adjusts the buffering of its standard streams ('tee'
       does for example) then that  will  override  corresponding  changes  by
       'stdbuf'.   Also  some  filters  (like  'dd'  and 'cat' etc.) don't use
       streams for I/O, and are thus unaffected by 'stdbuf' settings.
"""


def test_an_option_described_on_its_own_line_is_not_taken_for_a_term():
    quoted = sentences(LS_OPTIONS)
    assert "-t sort by time, newest first; see --time" in quoted
    assert quoted[-1].startswith("-T, --tabsize=COLS assume tab stops at each COLS")  # not glued to "-t …"


@pytest.mark.parametrize("question", ["What does uptime show?", "What is uptime?"])
def test_what_a_program_does_is_its_name_line_or_description_not_an_option(embedder, question):
    passages = [Source(1, "/man/uptime.txt", "uptime", "chars 0-700", UPTIME)]
    best = shown(extract(question, passages, embedder.embed_query, embed_many=embedder.embed))
    assert not any(e.text.startswith("-p") for e in best)  # "show uptime in pretty format" says how, not what
    assert any("how long the system has been running" in e.text for e in best)


def test_a_program_is_defined_by_its_own_page_not_by_another_page_naming_it(embedder):
    passages = [Source(1, "/man/stdbuf.txt", "stdbuf", "chars 900-1200", STDBUF),
                Source(2, "/man/tee.txt", "tee", "chars 0-500", TEE)]
    best = shown(extract("What does the tee command do?", passages, embedder.embed_query, embed_many=embedder.embed))
    assert best[0].n == 2 and not any("stdbuf" in e.text for e in best)
    assert any("Copy standard input to each FILE" in e.text for e in best)


def test_a_documents_footnote_marks_are_not_quoted_as_citations():
    from pydoc_data.topics import topics

    text = topics["string-methods"]
    start = text.index("str.isupper()")
    quoted = sentences(text[start:start + 200])
    assert quoted[0].startswith('str.isupper() — Return "True" if all cased characters in the string are uppercase')
    assert len(quoted) == 1  # the source says "cased characters [4] in the string"; its example (>>>) is code
    assert sentences("[4] Due to automatic garbage-collection, free lists may be reused.") == \
        ["Due to automatic garbage-collection, free lists may be reused."]
    # A number the text talks about stays, and so does an index.
    assert sentences("The app cites the passages it quotes as [1], [2].") == ["The app cites the passages it quotes as [1], [2]."]
    assert sentences('It computes "divmod(x,y)[0] * y + x % y" exactly.') == ['It computes "divmod(x,y)[0] * y + x % y" exactly.']


def test_a_passage_cut_inside_grid_table_rows_quotes_their_parts_marked():
    from pydoc_data.topics import topics

    lines = topics["typesseq-mutable"].splitlines()
    at = next(i for i, line in enumerate(lines) if '"s.append(x)"' in line)
    quoted = sentences("\n".join(lines[at - 2:at + 2]))  # the end of one row, a border, the start of the next
    assert quoted == ['… "s[i:j:k]" from the list', '"s.append(x)" · appends x to the end of the sequence (same as …']


def test_pointers_and_examples_are_not_quoted_and_a_lead_in_ends_where_its_block_does():
    from pydoc_data.topics import topics

    best = extract("What does the del statement do?", [Source(1, "python-docs:del", "The del statement", "",
                                                              topics["del"])], embed=None)
    assert not any("here are some hints" in e.text for e in best)  # it points at what follows
    assert not any(s.startswith("class C: pass") for s in sentences(topics["pass"]))  # an example, commented
    # A grammar rule's first line completes its lead-in, as a code block's does ...
    assert 'Imaginary literals are described by the following lexical definitions: imagnumber ::= ' \
           '(floatnumber | digitpart) ("j" | "J")' in sentences(topics["imaginary"])
    # ... and what comes after a heading is not glued to a lead-in above it.
    assert sentences("The config has three parts:\n\n## Files\n\nThus the files come first in every listing.") == \
        ["The config has three parts: …", "Thus the files come first in every listing."]


def test_a_sentence_cut_by_one_passage_and_whole_in_another_is_quoted_once():
    whole = 'Warnings about a PDF name the file, e.g. "ragtui: /docs/report.pdf: EOF marker not found".'
    cut = Source(1, "/g/documents.md", "Documents", "chars 900-1300", whole[:whole.index(" EOF")])
    assert sentences(cut.text) == ['Warnings about a PDF name the file, e.g. "ragtui: /docs/report.pdf: …']
    best = extract("Which PDF warnings name the file?", [cut, Source(2, "/g/documents.md", "Documents", "", whole)],
                   embed=None)
    assert [e.text for e in best] == [whole]
    assert sentences("ragtui models lists the server's models;") == ["… ragtui models lists the server's models; …"]


TTL = """Sessions expire after a period of inactivity: by default **1 hour (3600 seconds) of idle
time**. The expiry is sliding: every new message resets the clock, so an active
conversation never expires while you use it. A message, opening or extending a session
refresh it, but never cut it short: a session another device (with a longer TTL) keeps
for a day keeps its day, whichever device writes to it. Only
`ragtui sessions extend ID --ttl SECONDS` sets exactly the time asked for.

Change the idle time with `--ttl SECONDS`, the `RAGTUI_TTL` environment variable, or
`ttl = 7200` in the config file. `--ttl 0` means sessions never expire.
"""


def test_a_how_do_i_question_is_answered_first_by_what_to_type(embedder):
    passages = [Source(1, "/g/sessions.md", "Sessions › Time to live (TTL)", "", TTL)]
    best = shown(extract("How do I make a session last forever?", passages, embedder.embed_query,
                         embed_many=embedder.embed))
    assert best[0].text == "--ttl 0 means sessions never expire."


def test_words_meet_across_their_forms_assigned_and_assignment():
    from pydoc_data.topics import topics

    text = topics["attribute-access"]
    text = text[text.index("object.__getattr__(self, name)"):text.index("object.__dir__(self)")]
    passages = [Source(1, "python-docs:attribute-access", "Customizing attribute access", "", text)]
    best = shown(extract("Which method is called when an attribute is assigned?", passages, embed=None))
    assert any(e.text.startswith("object.__setattr__(self, name, value) — Called when an attribute assignment "
                                 "is attempted") for e in best)


def test_a_sentence_shortened_for_showing_is_not_taken_for_one_cut_by_the_passage():
    from ragtui.rag.evidence import quotes

    long = "If Redis answers, conversations go there; if not, ragtui saves them on this machine" + ", and so on" * 40 + "."
    shortened, = quotes(long)
    assert shortened.text.endswith(" …") and not shortened.cut
    cut, = quotes("saves them on this machine until Redis answers again.")
    assert cut.text.startswith("… ") and cut.cut


@pytest.mark.parametrize(("question", "described"), [
    ("When is __new__ called?", "object.__new__(cls[, ...]) — Called to create a new instance of class cls."),
    ("When is __init__ called?", "object.__init__(self[, ...]) — Called after the instance has been created"),
])
def test_a_question_naming_a_method_is_answered_first_by_its_own_description(question, described):
    from pydoc_data.topics import topics

    text = topics["customization"]
    text = text[text.index("object.__new__(cls[, ...])"):text.index("object.__del__(self)")]
    best = shown(extract(question, [Source(1, "python-docs:customization", "Basic customization", "", text)], None))
    assert best[0].text.startswith(described)  # not a sentence elsewhere that mentions it


def test_a_lead_in_completed_by_an_example_ending_on_a_colon_is_whole_and_not_glued_further():
    from pydoc_data.topics import topics
    from ragtui.rag.evidence import quotes

    discarded = next(q for q in quotes(topics["try"]) if "saved exception is discarded" in q.text)
    assert discarded.text.endswith("discarded: >>> def f(): …") and not discarded.cut  # shown marked, not penalised
    assert sentences("To loop over it:\n\n```\nfor x in items:\n    print(x)\n```\n\nThe loop ends with the list.") == \
        ["To loop over it: for x in items: …", "The loop ends with the list."]


GREP_OPTIONS = """              the pattern and then surrounding it with ^ and $.

   General Output Control
       -c, --count
              Suppress normal output; instead print a count of matching  lines
              for  each  input  file.
"""


def test_a_manual_subsection_title_is_a_heading_not_glued_to_its_first_option():
    quoted = sentences(GREP_OPTIONS)
    assert "-c, --count Suppress normal output; instead print a count of matching lines for each input file." in quoted
    assert not any("General Output Control" in q for q in quoted)
    # A passage that starts at the end of a cut line has no title there (man -P cat | col -b, with tabs).
    cut = "When\n\t      searching\t recursively, skip any subfile whose base name matches\n\t      GLOB.\n"
    assert sentences(cut) == ["When searching recursively, skip any subfile whose base name matches GLOB."]


# man grep, as `MANWIDTH=80 man grep | col -b` renders it (tabs and all).
GREP_RECURSIVE = """       --exclude-dir=GLOB
\t      Skip any command-line directory with a name suffix that  matches
\t      the   pattern   GLOB.   When  searching  recursively,  skip  any
\t      subdirectory whose base name matches GLOB.  Ignore any redundant
\t      trailing slashes in GLOB.

       -r, --recursive
\t      Read all files  under  each  directory,  recursively,  following
\t      symbolic\tlinks only if they are on the command line.  Note that
\t      if  no  file  operand  is\t given,\t grep  searches\t the   working
\t      directory.  This is equivalent to the -d recurse option.
"""


def test_a_question_in_the_words_of_an_options_long_name_gets_that_option_first(embedder):
    passages = [Source(1, "/man/grep.txt", "grep", "chars 9000-9800", GREP_RECURSIVE)]
    best = shown(extract("How do I search recursively with grep?", passages, embedder.embed_query,
                         embed_many=embedder.embed))
    assert best[0].text.startswith("-r, --recursive Read all files under each directory, recursively")


@pytest.mark.parametrize("start", ["   General Output Control", "General Output Control"])
def test_a_passage_starting_on_a_subsection_title_drops_it(start):
    assert sentences(f"{start}\n       -c, --count\n              Suppress normal output.\n") == \
        ["-c, --count Suppress normal output."]


def test_the_rest_of_a_named_methods_description_comes_before_other_methods():
    from pydoc_data.topics import topics

    methods = topics["string-methods"]
    find, index = methods.index("str.find(sub[, start[, end]])"), methods.index("str.index(sub[, start[, end]])")
    text, index = methods[find:methods.index("str.format(*args", find)], methods[index:methods.index("str.isalnum()", index)]
    passages = [Source(1, "python-docs:string-methods", "String Methods", "", text),
                Source(2, "python-docs:string-methods", "String Methods", "", index)]
    best = shown(extract("What does str.find return if the substring is not found?", passages, None))
    assert [e.n for e in best] == [1, 1] and any('Return "-1" if sub is not found.' in e.text for e in best)


def test_methods_described_together_are_one_term_quoted_with_their_description():
    from pydoc_data.topics import topics

    quoted = sentences(topics["numeric-types"])
    assert 'object.__neg__(self), object.__pos__(self), object.__abs__(self), object.__invert__(self) — Called to ' \
           'implement the unary arithmetic operations ("-", "+", "abs()" and "~").' in quoted
    binary = next(q for q in quoted if q.startswith("object.__add__(self, other)"))
    assert " … — These methods are called to implement the binary arithmetic operations" in binary  # the list shortened


def test_a_sentence_written_around_examples_is_no_term_and_its_example_is_not_quoted():
    from pydoc_data.topics import topics

    quoted = sentences(topics["class"])  # "…hence, / class Foo: pass / is equivalent to / class Foo(object): pass"
    assert not any("is equivalent to" in q or q.startswith("class Foo") for q in quoted)
    assert quoted[quoted.index(next(q for q in quoted if q.startswith("Classes without"))) + 1].startswith(
        "The class’s suite is then executed in a new execution frame")


def test_a_question_about_an_operator_is_answered_by_the_table_row_naming_it():
    from pydoc_data.topics import topics

    def passage(n: int, topic: str, title: str, start: str, length: int) -> Source:
        at = topics[topic].index(start)
        return Source(n, f"python-docs:{topic}", title, "", topics[topic][at:at + length])

    passages = [passage(1, "binary", "Binary arithmetic operations", "No builtin Python types implement", 411),
                passage(2, "conversions", "Arithmetic conversions", "* otherwise, both must be integers", 229),
                passage(3, "operator-summary", "Operator precedence", '| "*", "@", "/", "//", "%"', 367)]
    best = shown(extract("What is the % operator on integers?", passages, None))
    assert best[0].text.startswith('… "*", "@", "/", "//", "%" · Multiplication') and "remainder" in best[0].text


def test_a_paragraph_opening_on_it_carries_on_the_prose_paragraph_before():
    from pydoc_data.topics import topics

    text = topics["break"]
    best = shown(extract("What does break do in a loop?", [Source(1, "python-docs:break", 'The "break" statement', "", text)],
                         None))
    assert best[0].text.startswith('"break" may only occur syntactically nested in a "for" or "while" loop') \
        and best[0].text.endswith("It terminates the nearest enclosing loop, skipping the optional \"else\" clause if "
                                  "the loop has one.")
    # not across a pointer ("See also … for details.") nor after a heading, a table or an example
    assert "It is a \"SyntaxError\" to use an \"async with\" statement outside the body of a coroutine function." \
        in sentences(topics["async"])
