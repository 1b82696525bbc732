"""Source: one passage type, one serialisation, and what earlier releases stored still reads."""
import json

from ragtui.source import Source, answer_notes, ranked_evidence, shown_sources

CITED = Source(2, "/docs/guide.md", "Guide › Install", "chars 0-120", "Run make run.", 1.4375,
               similarity=0.625, cited=True, evidence=((1, "Run make run."),))


def test_to_dict_and_back_through_json_is_the_same_source():
    stored = json.loads(json.dumps(CITED.to_dict()))  # as the store and --json write it
    assert Source.from_dict(stored) == CITED


def test_field_names_scripts_read_are_kept():
    assert list(CITED.to_dict()) == ["n", "source", "title", "location", "text", "score", "similarity",
                                     "cited", "evidence"]
    assert CITED.to_dict()["evidence"] == [[1, "Run make run."]]


def test_a_source_stored_by_an_earlier_release_reads():
    # What 0.x stored (dataclasses.asdict of Citation, then JSON): no similarity; before
    # evidence existed, no evidence either.
    with_evidence = {"n": 1, "source": "/a.md", "title": "A", "location": "", "text": "t", "score": 0.5,
                     "cited": False, "evidence": [[2, "second"], [1, "best"]]}
    before_evidence = {"n": 3, "source": "/b.md", "title": "B", "location": "line 4", "text": "u",
                       "score": 0.25, "cited": True}
    assert Source.from_dicts([with_evidence, before_evidence]) == [
        Source(1, "/a.md", "A", "", "t", 0.5, evidence=((2, "second"), (1, "best"))),
        Source(3, "/b.md", "B", "line 4", "u", 0.25, cited=True),
    ]


def test_mistyped_or_missing_fields_get_defaults_not_a_crash():
    odd = {"n": "7", "source": None, "title": 5, "score": "high", "cited": "yes",
           "evidence": [[1], ["1", "x"], [True, "y"], [2, None], "z", [3, "kept"]], "extra": 1}
    assert Source.from_dict(odd) == Source(0, "", "", "", "", 0.0, evidence=((3, "kept"),))
    assert Source.from_dicts(["not an object", None, 3, {"n": 1}]) == [Source(1, "", "", "", "")]


def test_evidence_comes_back_best_first_with_the_number_of_its_passage():
    first = Source(1, "/a.md", "A", "", "t", evidence=((2, "second best"),))
    second = Source(2, "/b.md", "B", "", "t", evidence=((3, "third"), (1, "best")))
    assert ranked_evidence([first, second]) == [(2, "best"), (1, "second best"), (2, "third")]
    assert ranked_evidence([Source(1, "/old.md", "", "", "")]) == []  # stored before evidence existed


def test_answer_notes_quote_the_evidence_then_lists_what_the_answer_cited_on_one_line_each():
    sources = [
        Source(1, "/d/guide.md", "Guide › Install", "chars 0-9", "t", cited=True),
        Source(2, "/d/faq.md", "FAQ\n\x1b[31mred", "", "t", evidence=((1, "Sessions\nexpire after an hour."),)),
        Source(3, "/d/other.md", "", "line 4", "t"),
    ]
    assert answer_notes(sources) == [
        ("Evidence", ["[2] “Sessions expire after an hour.”"]),
        ("Sources", ["[1] Guide › Install — /d/guide.md (chars 0-9)", "[2] FAQ red — /d/faq.md",
                     "(and 1 more passages the answer did not cite)"]),
    ]
    # cited none (a model that did not cite): all it was given; no sources, nothing to say
    assert answer_notes([sources[2]]) == [("Sources", ["[3] /d/other.md (line 4)"])]
    assert answer_notes([]) == []


def test_shown_sources_are_the_cited_ones_or_all_when_none_was_cited():
    cited, by_evidence, other = (Source(1, "/a", "", "", "", cited=True),
                                 Source(2, "/b", "", "", "", evidence=((1, "x"),)), Source(3, "/c", "", "", ""))
    assert shown_sources([cited, by_evidence, other]) == ([cited, by_evidence], 1)
    assert shown_sources([other]) == ([other], 0)
