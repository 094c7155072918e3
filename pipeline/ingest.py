"""Ingest: a file, a URL or stdin becomes an `Article` with its extracted body text.

All offsets in reports refer to `Article.text`, the body as extracted here.
"""

from __future__ import annotations

import re
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import (
    EmptyInputError,
    EncodingError,
    FetchError,
    NotFoundError,
    TooLargeError,
    UnsupportedInputError,
)
from pipeline.schema import Article

TEXT_SUFFIXES = {".txt", ".text", ""}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
CORPUS_SUFFIXES = {".jsonl", ".ndjson", ".csv"}  # many articles: `healthclaims score` reads these
_BINARY_MAGIC = {
    b"%PDF": "PDF",
    b"PK\x03\x04": "a ZIP archive (or a Word/OpenDocument file)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x7fELF": "an executable",
    b"\x1f\x8b": "gzip-compressed data",
    b"\xd0\xcf\x11\xe0": "an old Office document",
}
_HTML_SNIFF = re.compile(rb"^\s*(<!doctype html|<html|<head|<body|<\?xml[^>]*>\s*<html)", re.IGNORECASE)
_SLUG = re.compile(r"[^a-z0-9]+")
USER_AGENT = "healthclaims/0.1 (+https://example.invalid/healthclaims)"


def slugify(text: str, *, fallback: str = "article") -> str:
    """A short lower-case identifier made from text."""
    slug = _SLUG.sub("-", text.lower()).strip("-")[:80]
    return slug or fallback


def is_url(source: str) -> bool:
    """Whether a source argument is an http(s) URL."""
    return source.startswith(("http://", "https://"))


def load_article(
    source: str, *, max_bytes: int, timeout: float = 20.0, stdin: BinaryIO | None = None
) -> Article:
    """Read `source` (a path, an http(s) URL, or "-" for stdin) into an Article."""
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read(max_bytes + 1)
        return article_from_bytes(data, name="stdin", source="-", kind=None, max_bytes=max_bytes)
    if is_url(source):
        data, kind = fetch_url(source, max_bytes=max_bytes, timeout=timeout)
        return article_from_bytes(data, name=_url_name(source), source=source, kind=kind, max_bytes=max_bytes)
    path = Path(source)
    if not path.exists():
        raise NotFoundError(
            f"{source} does not exist. Give a .txt, .md or .html file, a URL, or - for stdin."
        )
    if path.is_dir():
        raise UnsupportedInputError(f"{source} is a folder. Give the article files inside it.")
    suffix = path.suffix.lower()
    if suffix in CORPUS_SUFFIXES:  # before reading: a corpus may be large, and is not read here
        raise UnsupportedInputError(
            f"{source} is a {suffix} file: a corpus of articles, not one article. "
            f"Score it with 'healthclaims score {source}' (--reports writes a report per article)."
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise TooLargeError(
            f"{source} is {size:,} bytes, over the limit of {max_bytes:,}. Split it or raise --max-bytes."
        )
    try:
        data = path.read_bytes()
    except OSError as err:
        raise NotFoundError(f"{source} cannot be read: {err.strerror}.") from err
    kind = "html" if suffix in HTML_SUFFIXES else "markdown" if suffix in MARKDOWN_SUFFIXES else None
    return article_from_bytes(data, name=path.stem, source=str(path), kind=kind, max_bytes=max_bytes)


def _url_name(url: str) -> str:
    stripped = re.sub(r"^https?://", "", url).rstrip("/")
    return slugify(stripped.split("?")[0], fallback="url")


def fetch_url(url: str, *, max_bytes: int, timeout: float) -> tuple[bytes, str | None]:
    """The body of an http(s) URL and its kind ("html", "text" or None)."""
    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": "text/html,text/plain;q=0.9,*/*;q=0.5"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(max_bytes + 1)
            content_type = response.headers.get_content_type()
    except urllib.error.HTTPError as err:
        raise FetchError(f"{url} answered HTTP {err.code} {err.reason}. Check the address.") from err
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise FetchError(
            f"{url} could not be fetched ({reason}). Check the address and your network."
        ) from err
    kind = "html" if "html" in content_type else "text" if content_type.startswith("text/") else None
    return data, kind


def decode_text(data: bytes, *, name: str) -> str:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 with BOM, else a detected encoding."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise EncodingError(f"{name} starts like UTF-16 but is not valid UTF-16.") from err
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise EncodingError(f"{name} is not valid text in any encoding we can detect. Save it as UTF-8.")
    return str(best)


def article_from_bytes(data: bytes, *, name: str, source: str, kind: str | None, max_bytes: int) -> Article:
    """Check, decode and extract raw bytes into an Article."""
    if len(data) > max_bytes:
        raise TooLargeError(
            f"{source} is over the limit of {max_bytes:,} bytes. Split it or raise --max-bytes."
        )
    if not data.strip():
        raise EmptyInputError(f"{source} is empty. There is nothing to annotate.")
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise UnsupportedInputError(
                f"{source} is not text or HTML (it starts like {what}). healthclaims reads .txt, .md, .html and URLs."
            )
    head = data[:4096]
    if b"\x00" in head and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedInputError(
            f"{source} looks binary (it holds NUL bytes). healthclaims reads .txt, .md, .html and URLs."
        )
    text = decode_text(data, name=source)
    if _control_share(text) > 0.05:
        raise UnsupportedInputError(
            f"{source} looks binary (many control characters). healthclaims reads text and HTML."
        )
    if kind is None and _HTML_SNIFF.match(data[:512]):
        kind = "html"
    if kind == "html":
        body, title = extract_html(text, source=source)
    elif kind == "markdown":
        body, title = markdown_to_text(text), ""
    else:
        body, title = normalise_text(text), ""
    if not body.strip():
        raise EmptyInputError(f"{source} has no article text after extraction.")
    return Article(id=slugify(name), source=source, text=body, title=title or guess_title(body))


def _control_share(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f\v")
    return controls / len(sample)


def normalise_text(text: str) -> str:
    """Unify line endings and drop trailing spaces; paragraphs and line breaks are kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n") + "\n"


_MD_RULES = [
    (re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE), r"\1"),  # headings
    (re.compile(r"^\s{0,3}>\s?", re.MULTILINE), ""),  # block quotes
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links -> link text
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])"), r"\2"),  # italics
    (re.compile(r"`([^`]*)`"), r"\1"),  # inline code
    (re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$", re.MULTILINE), ""),  # rules
]


def markdown_to_text(text: str) -> str:
    """Markdown to plain text with its lines kept: headings, list items and paragraphs stay lines."""
    text = normalise_text(text)
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    return normalise_text(text)


def extract_html(html: str, *, source: str) -> tuple[str, str]:
    """Main text and title of an HTML page, without navigation and footers (trafilatura)."""
    import trafilatura

    document = trafilatura.bare_extraction(
        html,
        url=source if is_url(source) else None,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
    )
    if document is None:
        return "", ""
    text = getattr(document, "text", None) or ""
    title = getattr(document, "title", None) or ""
    return normalise_text(text) if text.strip() else "", title.strip()


def guess_title(body: str) -> str:
    """The first line when it reads as a title (short, no closing full stop)."""
    first = body.strip().split("\n", 1)[0].strip()
    return first if 0 < len(first) <= 150 and not first.endswith(".") else ""
