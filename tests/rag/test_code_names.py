"""A question naming a method (str.join, __getattr__) or an option (mkdir -p) finds the passage
that introduces it, not only passages that mention it in passing."""
from __future__ import annotations

import pytest

from ragtui.rag.index import Index
from ragtui.rag.ingest import Ingester

# Reference pages as Python's documentation writes them: a method is introduced on a line of its
# own, and other passages talk about it in passing, often closer in wording to the question.
FILES = {
    "attributes.md": """# Customizing attribute access

## Lookup
The following methods can be defined to customize the meaning of attribute access for class
instances.

object.__getattr__(self, name)

   Called when the default attribute access fails with an AttributeError.

## Total control
See the __getattribute__() method below for a way to actually get total control over attribute
access.

object.__getattribute__(self, name)

   Called unconditionally to implement attribute accesses for instances of the class. If the class
   also defines __getattr__(), the latter will not be called unless __getattribute__() either
   calls it explicitly or raises an AttributeError.

## Modules
If an attribute is not found on a module object through the normal lookup, then __getattr__ is
searched in the module __dict__ before raising an AttributeError. If found, it is called with
the attribute name and the result is returned.
""",
    "strings.md": """# Strings

## Return values
Most string methods return a new string: str.join, str.upper and str.strip all return a string,
so what they return can be passed on to another string method.

## Joining
str.join(iterable)

   Gives back a string which is the concatenation of the strings in iterable, with the string
   the method is called on placed between the elements.
""",
    # A manual page: an option is introduced at the start of its line, alone or with its long form.
    "mkdir.txt": """MKDIR(1)                         User Commands                        MKDIR(1)

NAME
       mkdir - make directories

SYNOPSIS
       mkdir [OPTION]... DIRECTORY...

DESCRIPTION
       Make each DIRECTORY unless it exists already; missing parents need -p.

       A long option's argument is required for its short form as well.

       -m, --mode=MODE
              give the new directories this file mode instead of the default, as chmod would

       -p, --parents
              no error for a directory that exists; creates the missing parents first

       -v, --verbose
              report each directory as it is made

       -Z     give each new directory the default SELinux security context
""",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("reference")
    for name, text in FILES.items():
        (root / name).write_text(text, encoding="utf-8")
    index = Index(root / "index")
    Ingester(index, lambda: embedder).ingest([root / name for name in FILES])
    return index


@pytest.mark.parametrize("question, introduction", [
    ("When is __getattr__ called?", "object.__getattr__(self, name)"),
    ("What does str.join return?", "str.join(iterable)"),
    ("What does mkdir -p do?", "-p, --parents"),
])
def test_a_named_method_or_option_finds_the_passage_that_introduces_it(index, embedder, question, introduction):
    hits = index.search(question, embedder.embed_query(question), k=3)
    assert introduction in hits[0].text
