"""Turn files into Documents that keep their structure: headings, pages, definitions.

Every loader gets bytes and returns a Document or raises LoadError with a reason a user
can act on; the ingester reports it and moves on. Document text is data: nothing in it
is executed or interpreted beyond finding its headings.
"""
from __future__ import annotations

import html.parser
import io
import logging
import os
import re
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from ..errors import RagtuiError
from ..safe_text import one_line
from .documents import Document, Section

log = logging.getLogger(__name__)

MARKDOWN = {".md", ".markdown"}
RESTRUCTURED = {".rst"}
HTML = {".html", ".htm", ".xhtml"}
PDF = {".pdf"}
PLAIN = {".txt", ".text"}
SOURCE_CODE = {
    ".py", ".pyi", ".js", ".jsx", ".mjs", ".ts", ".tsx", ".go", ".rs", ".c", ".h", ".cc",
    ".cpp", ".hpp", ".java", ".kt", ".scala", ".rb", ".php", ".cs", ".swift", ".lua",
    ".sh", ".bash", ".zsh", ".sql", ".r", ".jl", ".pl", ".hs", ".ex", ".exs", ".erl",
    ".clj", ".css", ".scss", ".toml", ".yaml", ".yml", ".ini", ".cfg", ".json", ".xml",
}
SUPPORTED = MARKDOWN | RESTRUCTURED | HTML | PDF | PLAIN | SOURCE_CODE
PLAIN_NAMES = {"readme", "license", "makefile", "dockerfile", "changelog", "authors", "notice"}


class LoadError(RagtuiError):
    """A file that cannot be read as a document; the message says why."""


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED or path.name.lower() in PLAIN_NAMES


FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    kind = next((name for is_kind, name in FILE_KINDS if is_kind(mode)), "not a file")
    return f"not a regular file ({kind})"


def read_file(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most `limit` of them; LoadError for anything else.

    Symlinks are followed, then what they lead to is checked before it is opened (a `.txt`
    link to /dev/zero would never end; opening some devices acts on them) and again once it
    is open (it may have been swapped meanwhile). The limit counts bytes actually read:
    st_size says nothing true of /proc files or devices."""
    too_big = f"larger than {limit // 2**20} MiB"
    try:
        problem = _not_regular(os.stat(path).st_mode)
        if problem:
            raise LoadError(problem)
        # O_NONBLOCK: if a FIFO was swapped in after the check, opening it must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as f:
            status = os.fstat(fd)
            problem = _not_regular(status.st_mode)
            if problem:
                raise LoadError(problem)
            if status.st_size > limit:  # no need to read what stat already says is too big
                raise LoadError(too_big)
            data = f.read(limit + 1)
    except OSError as exc:
        raise LoadError(f"unreadable ({exc.strerror or exc})") from None
    if len(data) > limit:  # stat can understate (/proc files): what was read decides
        raise LoadError(too_big)
    return data


def looks_binary(data: bytes) -> bool:
    """NUL bytes in the first 8 KiB: what git and grep use to call a file binary."""
    return b"\x00" in data[:8192]


def decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8 text (byte {exc.start}); convert it to UTF-8") from None


def load_bytes(path: Path, data: bytes) -> Document:
    """The Document for a file's content; `path` chooses the format by its suffix."""
    suffix = path.suffix.lower()
    source = str(path)
    if suffix in PDF:
        return _load_pdf(source, path, data)
    if looks_binary(data):
        raise LoadError("binary file")
    text = decode_text(data)
    if suffix in MARKDOWN:
        return load_markdown(source, text, default_title=path.stem)
    if suffix in RESTRUCTURED:
        return load_restructured(source, text, default_title=path.stem)
    if suffix in HTML:
        return load_html(source, text, default_title=path.stem)
    if suffix in SOURCE_CODE:
        return load_source_code(source, text, title=path.name)
    return load_plain(source, text, title=path.stem)


def _document(source: str, title: str, sections: list[Section]) -> Document:
    kept = tuple(s for s in sections if s.text.strip())
    if not kept:
        raise LoadError("no text in it")
    return Document(source=source, title=title.strip() or source, sections=kept)


def load_plain(source: str, text: str, *, title: str) -> Document:
    return _document(source, title, [Section("", text, 0)])


_ATX_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


_FRONT_MATTER_END = re.compile(r"^(---|\.\.\.)\s*$")
_FRONT_MATTER_FIELD = re.compile(r"^(title|description|summary):[ \t]*(\S.*?)\s*$")


def _front_matter(lines: list[str]) -> tuple[int, dict[str, tuple[int, str]]]:
    """Lines taken by a YAML front matter block (Jekyll, Hugo, Docusaurus…) and its title,
    description and summary: (line index, value) each. Its other fields are not prose."""
    if not lines or lines[0].rstrip() != "---":
        return 0, {}
    fields: dict[str, tuple[int, str]] = {}
    for i in range(1, len(lines)):
        if _FRONT_MATTER_END.match(lines[i]):
            return i + 1, fields
        field = _FRONT_MATTER_FIELD.match(lines[i])
        if field:
            fields.setdefault(field.group(1), (i, field.group(2).strip("\"'")))
    return 0, {}  # never closed: not front matter


def load_markdown(source: str, text: str, *, default_title: str) -> Document:
    """Sections at ATX (`# x`) and setext (`x` over `===`) headings, never inside fences.
    Front matter gives the title; its description is the first section."""
    lines = text.splitlines(keepends=True)
    body, fields = _front_matter(lines)
    headings: list[tuple[int, int, int, str]] = []  # (line index, lines used, level, text)
    in_fence = False
    for i, line in enumerate(lines):
        if i < body:
            continue
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        atx = _ATX_HEADING.match(line.rstrip("\n"))
        if atx:
            headings.append((i, 1, len(atx.group(1)), atx.group(2)))
        elif i + 1 < len(lines) and line.strip() and re.fullmatch(r"(=+|-+)\s*", lines[i + 1]):
            if not headings or headings[-1][0] + headings[-1][1] <= i:
                headings.append((i, 2, 1 if lines[i + 1].startswith("=") else 2, line.strip()))
    title = fields["title"][1] if "title" in fields else None
    about = [fields[f][0] for f in ("description", "summary") if f in fields]
    return _sections_from_headings(source, lines, headings, default_title, title=title,
                                   body_line=body, preamble_lines=about)


_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:.<>_])\1{2,}\s*$")


def load_restructured(source: str, text: str, *, default_title: str) -> Document:
    """Sections at underlined (optionally overlined) titles; levels in order of first use."""
    lines = text.splitlines(keepends=True)
    headings: list[tuple[int, int, int, str]] = []
    styles: list[tuple[str, bool]] = []
    i = 0
    while i < len(lines) - 1:
        line, below = lines[i].rstrip("\n"), lines[i + 1].rstrip("\n")
        over = i > 0 and _RST_ADORNMENT.match(lines[i - 1].rstrip("\n"))
        under = _RST_ADORNMENT.match(below)
        if line.strip() and not _RST_ADORNMENT.match(line) and under and len(below) >= len(line.strip()):
            style = (below[0], bool(over and lines[i - 1][0] == below[0]))
            if style not in styles:
                styles.append(style)
            first = i - 1 if style[1] else i
            headings.append((first, i + 2 - first, styles.index(style) + 1, line.strip()))
            i += 2
            continue
        i += 1
    return _sections_from_headings(source, lines, headings, default_title)


def _sections_from_headings(
    source: str, lines: list[str], headings: list[tuple[int, int, int, str]], default_title: str,
    *, title: str | None = None, body_line: int = 0, preamble_lines: Sequence[int] = (),
) -> Document:
    """`body_line`: where the body starts (after front matter); `preamble_lines`: lines
    before it that are prose all the same (a front matter description)."""
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    text = "".join(lines)
    title = title or next((h[3] for h in headings if h[2] == 1), headings[0][3] if headings else default_title)
    sections: list[Section] = [Section("", text[offsets[i]:offsets[i + 1]], offsets[i]) for i in preamble_lines]
    path: list[tuple[int, str]] = []  # open headings: (level, text)
    body_start = offsets[body_line]
    heading_path = ""
    for first_line, used, level, heading in headings:
        sections.append(Section(heading_path, text[body_start:offsets[first_line]], body_start))
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, heading))
        heading_path = " › ".join(h for _, h in path)
        body_start = offsets[first_line + used]
    sections.append(Section(heading_path, text[body_start:], body_start))
    return _document(source, title, sections)


class _HtmlText(html.parser.HTMLParser):
    """Visible text with a section break at each h1–h6; script and style dropped."""

    BLOCKS = {"p", "div", "li", "br", "tr", "pre", "section", "article", "blockquote", "table", "ul", "ol"}
    HIDDEN = {"script", "style", "template", "noscript", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.parts: list[str] = []
        self.breaks: list[tuple[int, int, str]] = []  # (offset, level, heading)
        self._hidden = 0
        self._in_title = False
        self._heading: tuple[int, list[str]] | None = None

    @property
    def length(self) -> int:
        return sum(len(p) for p in self.parts)

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden += 1
        if tag == "title":
            self._in_title = True
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self._heading = (int(tag[1]), [])
        elif tag in self.BLOCKS:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1
        if tag == "title":
            self._in_title = False
        elif self._heading and tag == f"h{self._heading[0]}":
            level, words = self._heading
            self._heading = None
            self.parts.append("\n\n")
            self.breaks.append((self.length, level, " ".join("".join(words).split())))

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif self._heading is not None:
            self._heading[1].append(data)
        elif not self._hidden:
            self.parts.append(data)


def load_html(source: str, text: str, *, default_title: str) -> Document:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    body = "".join(parser.parts)
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    start, heading_path = 0, ""
    for offset, level, heading in parser.breaks:
        sections.append(Section(heading_path, body[start:offset], start))
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, heading))
        heading_path = " › ".join(h for _, h in path)
        start = offset
    sections.append(Section(heading_path, body[start:], start))
    first_heading = parser.breaks[0][2] if parser.breaks else ""
    title = " ".join(parser.title.split()) or first_heading or default_title
    return _document(source, title, sections)


# A top-level definition starts a section: the line names what follows.
_DEFINITION = re.compile(
    r"^(?:export\s+|pub(?:\(\w+\))?\s+|public\s+|private\s+|static\s+|async\s+|abstract\s+)*"
    r"(?:def|class|function|func|fn|struct|enum|trait|impl|interface|type|module|object|"
    r"CREATE|create)\b"
)


def load_source_code(source: str, text: str, *, title: str) -> Document:
    lines = text.splitlines(keepends=True)
    sections: list[Section] = []
    offset, start, heading = 0, 0, ""
    for line in lines:
        if _DEFINITION.match(line) and offset > start:
            sections.append(Section(heading, text[start:offset], start))
            start = offset
        if _DEFINITION.match(line):
            heading = line.strip().rstrip("{:").strip()[:80]
        offset += len(line)
    sections.append(Section(heading, text[start:], start))
    return _document(source, title, sections)


class _Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _pypdf_warnings_named(source: str) -> Iterator[None]:
    """pypdf logs what it repairs ("EOF marker not found") on its own logger, without the
    file's name: catch those and say them again, once each, naming the file."""
    pypdf_log = logging.getLogger("pypdf")
    caught, propagate = _Collected(), pypdf_log.propagate
    pypdf_log.addHandler(caught)
    pypdf_log.propagate = False
    try:
        yield
    finally:
        pypdf_log.removeHandler(caught)
        pypdf_log.propagate = propagate
        for message in dict.fromkeys(caught.messages):
            log.warning("%s: %s", one_line(source), one_line(message, 200))


def _load_pdf(source: str, path: Path, data: bytes) -> Document:
    with _pypdf_warnings_named(source):
        return _read_pdf(source, path, data)


def _read_pdf(source: str, path: Path, data: bytes) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF; save an unencrypted copy to index it")
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
        sections = [
            Section("", page.extract_text() or "", 0, page=number)
            for number, page in enumerate(reader.pages, start=1)
        ]
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"unreadable PDF ({exc.__class__.__name__}: {exc})") from None
    if not any(s.text.strip() for s in sections):
        raise LoadError("PDF has no extractable text (scanned images?)")
    return _document(source, str(meta_title) or path.stem, sections)
