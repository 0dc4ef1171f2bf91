"""Turn a raw README (Markdown, reStructuredText or HTML-ish) into plain prose for a text encoder.

What goes: YAML front matter, badges, images, HTML comments/tags, code (fenced, indented, ``<pre>``), reST
directive noise, link reference definitions, bare URLs and lines that are pure punctuation
(table rules, heading underlines, horizontal rules). What stays: headings and prose, with link
text kept in place of the link. Whitespace is collapsed inside lines and blank lines are
dropped, so the result is one non-empty line per remaining text line, or ``""``.

:func:`prepare_readme` checks README *input* before that (every entry point goes through it):
``None`` / empty -> no text (the model's learned no-text vector); bytes -> strict UTF-8, else a
:class:`~tsfuse.errors.TextInputError`; binary content (a NUL character, or mostly unprintable
characters) -> :class:`~tsfuse.errors.TextInputError`; longer than :data:`README_MAX_CHARS` -> cut to
that, with a warning (the training corpus was cut the same way).
"""

from __future__ import annotations

import unicodedata

import html
import logging
import re
import textwrap

from tsfuse.errors import TextInputError

README_MAX_CHARS = 20_000  # the corpus READMEs were cut here; the encoder reads at most ~8 chunks anyway
BINARY_SAMPLE = 8_192  # characters looked at to tell text from binary
BINARY_SHARE = 0.3  # more unprintable characters than this share of the sample: binary
log = logging.getLogger(__name__)

_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)  # YAML metadata block
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_RST_EXPLICIT = re.compile(r"^\.\.(?:\s|$)")
_RST_SUBSTITUTION = re.compile(r"^\.\.\s+\|([^|]+)\|")
_RST_ADMONITION = re.compile(
    r"^\.\.\s+(?:note|warning|tip|hint|important|attention|caution|danger|error|seealso|admonition)::",
    re.IGNORECASE,
)
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+")

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_HTML_CODE = re.compile(r"<(pre|script|style)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.DOTALL | re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")

_TEXT = r"[^\[\]]"  # inside [...]: no nested brackets, so scans stay linear
_URL = r"\([^()\n]*\)"  # (...) holding a URL and optional title
_INLINE_SUBS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\[!\[{_TEXT}*\](?:{_URL}|\[{_TEXT}*\])\](?:{_URL}|\[{_TEXT}*\])"), " "),  # [![badge](img)](link)
    (re.compile(rf"!\[{_TEXT}*\](?:{_URL}|\[{_TEXT}*\])"), " "),  # ![alt](img) / ![alt][ref]
    (re.compile(rf"\[({_TEXT}*)\](?:{_URL}|\[{_TEXT}*\])"), r"\1"),  # [text](url) / [text][ref] -> text
    (re.compile(r"`([^`<]+?)\s*<[^>`]*>`__?"), r"\1"),  # reST `text <url>`_ -> text
    (re.compile(r"<(?:https?|ftp|mailto):[^>\s]*>"), " "),  # <https://...> autolinks
    (_HTML_TAG, " "),
    (re.compile(r"(?:https?://|ftp://|www\.)\S+"), " "),  # bare URLs
    (re.compile(r":[\w-]+:`([^`]*)`"), r"\1"),  # reST roles :ref:`x` -> x
    (re.compile(r"`+|\*\*|__"), ""),  # inline code ticks and bold markers
)
_HEADING_MARK = re.compile(r"^\s*(?:#{1,6}\s+|(?:>\s*)+)|\s+#+\s*$")
_RST_LITERAL_MARK = re.compile(r"::+$")


def prepare_readme(text: str | bytes | None, source: str = "readme_text") -> str:
    """Check raw README input and return the text the model reads (see the module docstring).

    ``source`` names the input in messages (an argument, a file, a flag). Raises
    :class:`~tsfuse.errors.TextInputError` for bytes that are not UTF-8 and for binary content,
    :class:`TypeError` for anything but ``str``, ``bytes`` or ``None``.
    """
    if text is None:
        text = ""
    if isinstance(text, (bytes, bytearray)):
        text = _decode_utf8(bytes(text), source)
    if not isinstance(text, str):
        raise TypeError(f"{source} must be a str or UTF-8 bytes (use '' when there is none), "
                        f"got {type(text).__name__}")
    _refuse_binary(text, source)
    if len(text) > README_MAX_CHARS:
        log.warning("%s has %s characters; only the first %s are used (the training READMEs were cut the same "
                    "way)", source, f"{len(text):,}", f"{README_MAX_CHARS:,}")
        text = text[:README_MAX_CHARS]
    if not clean_readme(text):
        log.info("%s is empty after cleaning: the model uses its learned no-README vector", source)
    return text


def _decode_utf8(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextInputError(
            f"{source} is not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason}). "
            "Decode it with its real encoding first (e.g. data.decode('latin-1')) and pass the str") from None


def _refuse_binary(text: str, source: str) -> None:
    """A TextInputError if ``text`` holds a NUL character or is mostly unprintable in its first characters."""
    nul = text.find("\x00")
    if nul >= 0:
        raise TextInputError(f"{source} looks binary (a NUL character at position {nul}); pass the README's "
                             "text, or '' when the project has no readable README")
    sample = text[:BINARY_SAMPLE]
    unprintable = sum((not ch.isprintable() and ch not in "\t\n\r\f\v") or ch == "\ufffd" for ch in sample)
    if sample and unprintable > BINARY_SHARE * len(sample):
        raise TextInputError(f"{source} looks binary ({unprintable} of its first {len(sample)} characters are "
                             "unprintable or undecodable); pass the README's text, or '' when the project has "
                             "no readable README")


def clean_readme(text: str) -> str:
    """Return the prose of a README: markup, code, badges and URLs removed, whitespace collapsed.

    Deterministic; returns ``""`` when nothing readable remains. Raises :class:`TypeError` for
    anything that is not a ``str`` (including ``None``).
    """
    if not isinstance(text, str):
        raise TypeError(f"clean_readme expects a str, got {type(text).__name__}; pass '' for a missing README")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # a plain-text README indented throughout (old pallets/flask) is prose, not one code block
    text = textwrap.dedent(text)
    text = _FRONT_MATTER.sub("", text)
    text = _HTML_COMMENT.sub(" ", text)
    text = _HTML_CODE.sub(" ", text)
    lines, substitutions = _drop_blocks(text.split("\n"))
    text = "\n".join(lines)
    for name in substitutions:
        text = re.sub(re.escape(f"|{name}|") + r"_{0,2}", " ", text)
    for pattern, replacement in _INLINE_SUBS:
        text = pattern.sub(replacement, text)
    text = html.unescape(text)
    return "\n".join(kept for line in text.split("\n") if (kept := _tidy_line(line)))


def _drop_blocks(lines: list[str]) -> tuple[list[str], list[str]]:
    """Remove fenced/indented code, reST explicit markup and link definitions, line by line.

    Returns the kept lines and the reST substitution names (``|name|``) that were defined.
    """
    kept: list[str] = []
    substitutions: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            i = _skip_fence(lines, i, fence.group(1))
        elif _RST_EXPLICIT.match(line):
            if sub := _RST_SUBSTITUTION.match(line):
                substitutions.append(sub.group(1))
            body_end = _skip_indented(lines, i + 1)
            if _RST_ADMONITION.match(line):  # keep the prose of notes/warnings
                kept.extend(lines[i + 1 : body_end])
            i = body_end
        elif _INDENTED.match(line) and not _LIST_ITEM.match(line) and (not kept or not kept[-1].strip()):
            i = _skip_indented(lines, i)
        elif _LINK_DEFINITION.match(line):
            i += 1
        else:
            kept.append(line)
            i += 1
    return kept, substitutions


def _skip_fence(lines: list[str], start: int, opener: str) -> int:
    """Index just past the fence opened at ``start`` (end of text if it is never closed)."""
    closer = re.compile(rf"^ {{0,3}}{re.escape(opener[0])}{{{len(opener)},}}\s*$")
    for j in range(start + 1, len(lines)):
        if closer.match(lines[j]):
            return j + 1
    return len(lines)


def _skip_indented(lines: list[str], start: int) -> int:
    """Index of the first line from ``start`` that is neither blank nor indented."""
    j = start
    while j < len(lines) and (not lines[j].strip() or lines[j][:1] in (" ", "\t")):
        j += 1
    return j


def _tidy_line(line: str) -> str:
    """Strip heading/quote/literal-block markers and collapse whitespace; ``""`` for punctuation-only lines."""
    line = _RST_LITERAL_MARK.sub(":", " ".join(_HEADING_MARK.sub(" ", line).split()))
    return line if any(ch.isalnum() for ch in line) else ""


def latin_share(text: str) -> float:
    """Share of the text's letters that are Latin-script (a-z with accents): low for Chinese,
    Japanese, Russian, ... READMEs; 1.0 for a text without letters."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    return sum(1 for c in letters if unicodedata.name(c, "").startswith("LATIN")) / len(letters)


def prepare_texts(texts: dict[str, str] | None) -> dict[str, str]:
    """README texts per project through :func:`prepare_readme` (binary or non-UTF-8 refused, huge
    ones cut); None gives ``{}``.

    Raises:
        TypeError: when ``texts`` is not a dict ``{unique_id: README text}``.
    """
    if texts is None:
        return {}
    if not isinstance(texts, dict):
        raise TypeError(f"texts must be a dict {{unique_id: README text}}, got {type(texts).__name__}")
    return {str(uid): prepare_readme(text, f"texts[{uid!r}]") for uid, text in texts.items()}
