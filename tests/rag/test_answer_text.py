"""What the model writes is cleaned as it streams: no invented turns, no citation of nothing."""
from __future__ import annotations

import re

import pytest

from ragtui.rag.answer_text import (AnswerFilter, clean_citations, cited_numbers, ends_on_lead_in, grounded_in,
                                    settle, truncation_mark)


def stream(pieces, available=3, max_sentences=None):
    shown = []
    cleaned = AnswerFilter(available, shown.append, max_sentences=max_sentences)
    for piece in pieces:
        if cleaned.feed(piece):
            break
    text = cleaned.finish()
    assert "".join(shown) == text  # what streamed is exactly what is kept
    return text, cleaned.ended


@pytest.mark.parametrize("pieces", [
    ["The port is 7341 [1].", "\nQuestion: and the other one?"],
    ["The port is 7341 [1].", "\n\n", "Quest", "ion", ":", " what?"],
    ["The port is 7341 [1].", "\nUser: thanks"],
    ["The port is 7341 [1].", "\n**Question 2:** more"],
    ["The port is 7341 [1].", "<|im_start|>", "user"],
])
def test_an_invented_next_turn_ends_the_answer_and_is_never_shown(pieces):
    assert stream(pieces) == ("The port is 7341 [1].", True)


@pytest.mark.parametrize("pieces", [["Question", "<|im_end|>"], ["Quest", "ion", "?"], ["User", ":", " hi"]])
def test_an_answer_that_is_only_a_turn_label_is_empty(pieces):
    assert stream(pieces)[0] == ""


def test_a_line_that_only_starts_like_a_label_is_kept():
    assert stream(["It works.\nUs", "ers can pin sessions.\nQuick", " note."]) == \
        ("It works.\nUsers can pin sessions.\nQuick note.", False)


def test_a_leading_answer_label_is_dropped():
    assert stream(["Ans", "wer:", " Port 7341."])[0] == "Port 7341."
    assert stream(["The", " answer", " to your", " question is:", " [1] Port 7341."])[0] == "[1] Port 7341."
    assert stream(["The", " answer", " is", " 7341 [1]."])[0] == "The answer is 7341 [1]."


def test_citations_of_missing_passages_are_removed_even_when_split_across_pieces():
    assert stream(["Use ingest [1", "]. See [7", "] and [2, 9]."])[0] == "Use ingest [1]. See and [2]."


def test_a_run_of_forty_citations_becomes_its_valid_numbers_once():
    run = ", ".join(f"[{n}]" for n in range(1, 41))
    assert stream(["Run ragtui ingest ", run, "."], available=5)[0] == "Run ragtui ingest [1][2][3][4][5]."
    assert clean_citations("Done [1][1][1] [2].", 2) == "Done [1][2]."
    assert clean_citations("Done.\n[2] Then [9].", 2) == "Done.\n[2] Then."
    assert cited_numbers("Done [1, 4] [2][9].", 3) == {1, 2}


def test_a_sentence_said_twice_ends_the_answer():
    text, ended = stream(["Sessions expire after one hour. ", "Pinned ones never do at all. ",
                          "Sessions expire after one hour. ", "Sessions"])
    assert ended and text == "Sessions expire after one hour. Pinned ones never do at all."


def test_a_tiny_models_answer_ends_after_the_sentences_it_was_asked_for():
    pieces = ["Sessions last one hour [1]. ", "Pin one to keep it. ", "You can also bake bread with it. ", "More."]
    assert stream(pieces, max_sentences=2) == ("Sessions last one hour [1]. Pin one to keep it.", True)
    assert stream(pieces)[0].endswith("bake bread with it. More.")  # no limit: all of it
    assert stream(["Version 3.14 is out. ", "It is fast."], max_sentences=1) == ("Version 3.14 is out.", True)


def words(text):
    """Pieces as a model streams them: each word with the space before it."""
    return re.findall(r"\s*\S+|\s+", text)


@pytest.mark.parametrize("raw, kept", [
    # QA Q32: "1." was counted as the second sentence, and the answer ended on it.
    ("You pin it with the pin method. Here's how:\n\n1. Press p in the browser. 2. Done.",
     "You pin it with the pin method. Here's how:\n\n1. Press p in the browser."),
    ("It keeps sessions in Redis. In this code: 1. The id is a key. More.",
     "It keeps sessions in Redis. In this code: 1. The id is a key."),
    ("Steps:\n1. Open it.\n2. Press p.\n3. Go.", "Steps:\n1. Open it.\n2. Press p."),
    ("The default is 10 seconds. It is fixed. Really.", "The default is 10 seconds. It is fixed."),
])
def test_a_list_marker_is_not_a_sentence_its_item_finishes(raw, kept):
    assert stream(words(raw), max_sentences=2) == (kept, True)


@pytest.mark.parametrize("raw, kept", [
    ("You pin it. Here's how:\n\n1.", "You pin it. Here's how:"),
    ("Here's how:\n\n1.\nQuestion: what?", "Here's how:"),
    ("Use these:\n- ", "Use these:"),
    ("Run it at 10:30", "Run it at 10:30"),  # digits after a colon are kept
    ("Sessions last\n10", "Sessions last\n10"),
])
def test_a_bare_list_marker_is_never_shown_at_the_end(raw, kept):
    assert stream(words(raw))[0] == kept


def test_an_answer_ending_on_a_lead_in_is_told_apart():
    assert ends_on_lead_in("You pin it. Here's how:") and ends_on_lead_in("the following steps: \n")
    assert not ends_on_lead_in("Sessions last one hour [1].")


def test_a_code_block_left_open_by_the_cut_is_closed():
    raw = "Run this:\n\n```bash\nragtui ingest ~/notes\n```\nThat indexes it. It also says so. More."
    assert stream(words(raw), max_sentences=2)[0] == raw[:raw.index(" More")]
    text, ended = stream(words("Run this:\n```bash\nragtui ingest ~/notes # it reads them. Then it stops. More"),
                         max_sentences=2)
    assert ended and text.endswith("Then it stops.\n```")


def test_held_back_text_is_released_at_the_end():
    assert settle("It is [1", 3) == ("It is", False)
    assert settle("It is [1", 3, final=True) == ("It is [1", False)
    assert settle("Fine.\nQues", 3) == ("Fine.", False)
    assert settle("Fine.\nQues", 3, final=True) == ("Fine.\nQues", False)
    assert settle("Fine.\nQuestion", 3, final=True) == ("Fine.", False)  # a label, then the end
    assert settle("Question", 3, final=True) == ("", False)


def test_the_truncation_mark_names_the_limit():
    assert truncation_mark(512) == " … (cut at 512 tokens)"


PASSAGES = ("Run ragtui ingest PATH to index files and folders. RAGTUI_DATA_DIR moves the data directory. "
            "Press ctrl+t to extend a session.")
GROUNDED_BLOCK = "Like this:\n```bash\nragtui ingest PATH\n```\nThat is all."


@pytest.mark.parametrize("raw, kept", [
    # QA Q38: scripts, packages and commands from no passage.
    ("To index your documents, use the `ragen` command. It is fast.", ""),
    ("You can do it [1]. Here's how:\n\n```bash\nragen -i ~/notes\n```\nThis indexes.", "You can do it [1]."),
    ("Press ctrl+t [3]. Or use `setTimeout` in JavaScript.", "Press ctrl+t [3]."),
    ("Steps:\n1. Set `RAGTUI_DATA_DIR`.\n2. Run `ragen`.\n3. Done.", "Steps:\n1. Set `RAGTUI_DATA_DIR`."),
    # Code the passages hold is kept, a fenced block's language name aside.
    ("Run `ragtui ingest PATH` [1]. It indexes.", "Run `ragtui ingest PATH` [1]. It indexes."),
    (GROUNDED_BLOCK, GROUNDED_BLOCK),
])
def test_code_from_no_passage_ends_the_answer_before_its_sentence(raw, kept):
    shown = []
    cleaned = AnswerFilter(3, shown.append, max_sentences=2, grounded=grounded_in(PASSAGES))
    for piece in words(raw):
        if cleaned.feed(piece):
            break
    assert cleaned.finish() == "".join(shown) == kept


@pytest.mark.parametrize("raw, kept", [
    # QA: a loop inside a sentence ("SHOW / SHOW / …") was shown whole.
    ('Press ctrl+t [3]. Then open the "SHOW / SHOW / SHOW / SHOW / SHOW" command. More.', "Press ctrl+t [3]."),
    ("Run it, run it, run it, run it, run it.", ""),
    # A file name's dot is no sentence end, even when the stream pauses on it.
    ("Extracting a tar.gz archive is done with `unzz`. It works.", ""),
    ("It works. Extracting a tar.gz archive needs `unzz`.", "It works."),
])
def test_a_loop_or_invented_code_ends_the_answer_before_its_whole_sentence(raw, kept):
    shown = []
    cleaned = AnswerFilter(3, shown.append, max_sentences=2, grounded=grounded_in(PASSAGES))
    for piece in re.findall(r"\w+|\W", raw):  # "tar", ".", "gz": a pause on the dot
        if cleaned.feed(piece):
            break
    assert cleaned.finish() == "".join(shown) == kept


def test_with_grounding_a_sentence_is_shown_once_it_is_decided():
    shown = []
    cleaned = AnswerFilter(3, shown.append, max_sentences=2, grounded=grounded_in(PASSAGES))
    for piece in words("Press ctrl+t to extend it"):
        cleaned.feed(piece)
    assert shown == []  # the sentence might still hold code from no passage
    cleaned.feed(". Then")
    assert shown == ["Press ctrl+t to extend it."]


def test_an_a_label_is_dropped_like_an_answer_label():
    assert stream(["A", ":", " Port 7341 [1]."])[0] == "Port 7341 [1]."


@pytest.mark.parametrize("question, raw, kept", [
    # QA Q38: SmolLM2-135M's yes/no contradicts the evidence quoted under it about half the time.
    ("Can I make it never expire?", "The answer is no, pinned sessions never expire. Press p to pin one.",
     "Pinned sessions never expire. Press p to pin one."),
    ("Can I use ragtui without Redis?", "No.", ""),
    ("Can I use ragtui without Redis?", "No. It can use a durable local store [1].", "It can use a durable local store [1]."),
    ("Can my colleague Alice see my sessions on our shared Redis?",
     "Yes, Alice can see your sessions. Each user has their own key prefix [2].", "Each user has their own key prefix [2]."),
    ("Can I create a session with several app instances?", "Yes, you can.", ""),
    ("Can I use underscores in integer literals?", "Yes, you can use underscores in integer literals.", ""),
    ("Does ragtui send my documents to a cloud service?",
     "No, ragtui does not send documents to a cloud service. It is an offline, keyboard-driven terminal app.",
     "It is an offline, keyboard-driven terminal app."),
    ("Is x += 1 the same as x = x + 1?", "The answer is no, x += 1 does not equal x = x + 1.", ""),
    ("Are pins kept forever?", "Answer: Yes — pins are kept in Redis forever", ""),
    ("Can I pin a session?", "Answer: Yes, press p in the session browser [1].", "Press p in the session browser [1]."),
    ("Does ctrl+t exist?", "The answer to the question is yes. The document lists actions.", "The document lists actions."),
    ("Can I pin a session?", "[1] No, you cannot pin a session.\n[2] Press p to pin it.", "[2] Press p to pin it."),
    # Not verdicts: kept as they are.
    ("Does anything leave my machine?", "No data leaves your machine [1].", "No data leaves your machine [1]."),
    ("Which key pins a session?", "Nothing else: press p [1].", "Nothing else: press p [1]."),
    ("What does yes do?", "You pipe yes into it [1].", "You pipe yes into it [1]."),
    ("Which key pins a session?", "[1] Press p [1].", "[1] Press p [1]."),
])
def test_a_tiny_models_leading_yes_or_no_is_not_shown(question, raw, kept):
    shown = []
    cleaned = AnswerFilter(3, shown.append, max_sentences=2, question=question)
    for piece in words(raw):
        cleaned.feed(piece)
    assert cleaned.finish() == kept
    assert "".join(shown) == kept  # streamed a sentence at a time, never taken back


def test_without_a_question_a_verdict_is_kept():
    assert stream(words("No, pinned sessions never expire."))[0] == "No, pinned sessions never expire."


def test_a_verdict_is_held_back_until_its_sentence_is_decided():
    assert settle("No", 3, question="Can I?") == ("", False)
    assert settle("No, you can", 3, question="Can I?") == ("", False)
    assert settle("No, you can't. Pin", 3, question="Can I?") == ("Pin", False)
    assert settle("No", 3, question="Can I?", final=True) == ("", False)
