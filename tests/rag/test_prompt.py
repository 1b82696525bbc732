"""The prompt never exceeds its budget, keeps whole recent turns, and only grows at its end."""
from __future__ import annotations

import pytest

from ragtui.rag.chat import cited_numbers, history_turns
from ragtui.rag.prompt import (
    NOTHING_FOUND,
    SYSTEM_PROMPT,
    PromptTooLong,
    Turn,
    build_prompt,
    gist,
    retrieval_query,
    turn_messages,
)
from ragtui.sessions import Message
from ragtui.source import Source


def chatml(messages):
    body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return body + "<|im_start|>assistant\n"


def count_words(text):
    return len(text.split())


def passage(n, words=40, source="/docs/a.md"):
    return Source(n, source, f"Doc {n}", "chars 0-100", " ".join(f"w{n}" for _ in range(words)))


def turn(i, words=30):
    return Turn(f"question {i}", (passage(1, 20),), " ".join(f"answer{i}" for _ in range(words)))


def build(question, passages, history, budget):
    return build_prompt(question, passages, history, render=chatml, count_tokens=count_words, budget=budget)


def test_everything_fits_when_there_is_room():
    prompt = build("what now?", [passage(1), passage(2)], [turn(1), turn(2)], budget=10_000)
    assert prompt.history_turns == 2
    assert prompt.messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert "[1] Doc 1 (a.md, chars 0-100)" in prompt.messages[-1]["content"]
    assert prompt.messages[-1]["content"].endswith("Question: what now?")


@pytest.mark.parametrize("budget", [150, 200, 300, 500, 800])
def test_long_sessions_keep_the_newest_whole_turns_within_budget(budget):
    history = [turn(i) for i in range(50)]
    prompt = build("latest?", [passage(1), passage(2)], history, budget)
    assert prompt.tokens == count_words(prompt.text) <= budget
    kept = history[len(history) - prompt.history_turns:]
    assert [m["content"] for m in prompt.messages if m["role"] == "assistant"] == [gist(t.answer) for t in kept]
    # Adding one more (older) turn would not have fitted.
    if prompt.history_turns < len(history):
        wider = history[len(history) - prompt.history_turns - 1:]
        assert count_words(chatml(
            [prompt.messages[0]] + [m for t in wider for m in turn_messages(t)] + [prompt.messages[-1]]
        )) > budget


def test_passages_are_dropped_lowest_ranked_first_when_the_new_turn_alone_is_too_long():
    passages = [passage(n, words=100) for n in range(1, 6)]
    budget = len(SYSTEM_PROMPT.split()) + 230  # room for two passages of ~105 words, not three
    prompt = build("q?", passages, [], budget=budget)
    assert prompt.tokens <= budget
    assert [p.n for p in prompt.passages] == [1, 2]


def test_a_single_huge_passage_is_shortened_not_dropped():
    prompt = build("q?", [passage(1, words=5000)], [], budget=300)
    assert prompt.tokens <= 300
    assert [p.n for p in prompt.passages] == [1]
    assert 0 < count_words(prompt.passages[0].text) < 5000


def test_a_question_longer_than_the_context_is_a_clear_error():
    with pytest.raises(PromptTooLong, match="too long for the model's context"):
        build("word " * 1000, [passage(1)], [], budget=200)


def test_past_turns_are_their_questions_and_the_gist_of_their_answers():
    """A small model copies whole earlier answers, and their [n] point at other passages."""
    answer = "A kettle boils water [1]. It also whistles [2] when the water is ready, loudly."
    history = [Turn("what is a kettle?", (passage(1), passage(2)), answer)]
    second = build("and descaling?", [passage(3)], history, budget=10_000)
    assert second.messages[1:3] == [{"role": "user", "content": "what is a kettle?"},
                                    {"role": "assistant", "content": "A kettle boils water."}]
    assert "w1" not in second.text and "whistles" not in second.text


def test_a_tiny_model_given_facts_sees_the_previous_question_only_when_it_follows_up():
    history = [Turn("what is a teapot?", (passage(1),), "A teapot brews tea [1]."),
               Turn("what is a kettle?", (passage(1),), "A kettle boils water [1].")]

    def facts_prompt(question):
        return build_prompt(question, [passage(3)], history, render=chatml, count_tokens=count_words,
                            budget=10_000, facts=True)

    second = facts_prompt("and descaling?")
    assert [m["role"] for m in second.messages] == ["system", "user", "user"]
    assert second.messages[1]["content"] == "what is a kettle?" and "boils" not in second.text
    assert second.messages[2]["content"].startswith("Facts:\n[3] w3")
    assert facts_prompt("And what about the descaling of a kettle?").history_turns == 1
    # QA Q27: a question of its own gets no earlier topic to write about.
    alone = facts_prompt("How do I catch several exception types in one except clause?")
    assert [m["role"] for m in alone.messages] == ["system", "user"] and "kettle" not in alone.text
    assert alone.history_turns == 0


def test_a_gist_is_the_first_sentence_cut_to_a_few_words():
    assert gist("Sessions expire [1, 2]. Pin them [3].") == "Sessions expire."
    long = " ".join(f"word{i}" for i in range(50)) + "."
    assert gist(long, limit=5) == "word0 word1 word2 word3 word4 …"


def test_turn_three_prompt_extends_turn_two_prompt_up_to_its_new_turn():
    """What keeps llama.cpp's KV cache useful: past turns render the same on every later turn."""
    turn_one = Turn("what is a kettle?", (passage(1),), "A kettle boils water [1].")
    turn_two = Turn("and descaling?", (passage(2),), "Descale monthly [1].")
    second = build("and descaling?", [passage(2)], [turn_one], budget=10_000)
    third = build("why?", [passage(3)], [turn_one, turn_two], budget=10_000)
    shared = chatml(second.messages[:3]).removesuffix("<|im_start|>assistant\n")
    assert third.text.startswith(shared)


def test_follow_up_questions_are_searched_with_the_previous_question():
    history = [turn(1)]
    assert retrieval_query("tell me more about that", history) == "question 1 tell me more about that"
    standalone = "How do I configure the Redis URL for several app instances?"
    assert retrieval_query(standalone, history) == standalone
    assert retrieval_query("How long do sessions last?", history) == "How long do sessions last?"
    assert retrieval_query("and Redis?", history) == "question 1 and Redis?"
    assert retrieval_query("And what about the nonlocal statement?", history) == \
        "question 1 And what about the nonlocal statement?"
    assert retrieval_query("tell me more about that", []) == "tell me more about that"


def test_citation_numbers_are_mapped_to_available_passages():
    text = "Kettles boil [1]. Descale monthly [2, 3]; see also [3][4] and [9] and [x]."
    assert cited_numbers(text, available=4) == {1, 2, 3, 4}
    assert cited_numbers(text, available=2) == {1, 2}
    assert cited_numbers("No citations here.", available=3) == set()


def test_history_turns_rebuild_each_question_with_the_passages_it_was_given():
    source = {"n": 1, "source": "/d/k.md", "title": "Kettle", "location": "chars 0-9", "text": "boils", "score": 0.5, "cited": True}
    messages = [
        Message("1", "assistant", "orphan answer from a trimmed history", 1.0),
        Message("2", "user", "what is a kettle?", 2.0),
        Message("3", "assistant", "It boils [1].", 3.0, (source,)),
        Message("4", "user", "unanswered (the answer was never saved)", 4.0),
    ]
    turns = history_turns(messages)
    assert turns == [Turn("what is a kettle?", (Source(1, "/d/k.md", "Kettle", "chars 0-9", "boils", 0.5, cited=True),), "It boils [1].")]


def test_a_regenerated_answer_replaces_the_one_before_it_and_declines_are_left_out():
    messages = [
        Message("1", "user", "what is a kettle?", 1.0),
        Message("2", "assistant", "A first, bad answer.", 2.0),
        Message("3", "user", "what is a kettle?", 3.0),  # ctrl+r: the same question again
        Message("4", "assistant", "It boils water.", 4.0),
        Message("5", "user", "who won the world cup?", 5.0),
        Message("6", "assistant", NOTHING_FOUND, 6.0),
    ]
    assert [(t.question, t.answer) for t in history_turns(messages)] == [("what is a kettle?", "It boils water.")]
