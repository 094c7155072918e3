import http.server
import json
import random
import socket
import threading

import pytest

from pipeline.errors import (
    EmptyInputError,
    EncodingError,
    FetchError,
    NotFoundError,
    TooLargeError,
    UnsupportedInputError,
)
from pipeline.ingest import load_article, markdown_to_text

LIMIT = 10_000_000

NEWS_HTML = """<!doctype html><html><head><title>Walking cuts heart risk | Daily Health</title></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li>Subscribe</li></ul></nav>
<article><h1>Walking cuts heart risk</h1>
<p>People who walked 7,000 steps a day had a 40% lower risk of dying from heart disease, according to a study published in JAMA Cardiology.</p>
<p>The researchers followed 2,110 adults for eleven years and counted their steps with a hip-worn monitor.</p>
<p>"Even modest walking made a measurable difference," said lead author Dr. Amanda Paluch of the University of Massachusetts.</p>
<p>Those who walked the most also had lower blood pressure at the end of the study, the team reported.</p>
</article>
<footer><p>Sign up for our newsletter</p><p>&copy; 2026 Daily Health. All rights reserved.</p></footer>
</body></html>"""


def test_ingest_text_keeps_paragraphs_and_offsets(tmp_path):
    path = tmp_path / "note.txt"
    path.write_bytes(b"A Title\r\n\r\nFirst paragraph here.\r\nSecond line.\r\n")
    article = load_article(str(path), max_bytes=LIMIT)
    assert article.text == "A Title\n\nFirst paragraph here.\nSecond line.\n"
    assert article.title == "A Title"
    assert article.id == "note"


def test_ingest_detects_latin1(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("Le café réduit-il le risque de diabète ? Une étude française répond.".encode("cp1252"))
    article = load_article(str(path), max_bytes=LIMIT)
    assert "café" in article.text and "étude" in article.text


def test_ingest_html_drops_navigation_and_footer(tmp_path):
    path = tmp_path / "story.html"
    path.write_text(NEWS_HTML, "utf-8")
    article = load_article(str(path), max_bytes=LIMIT)
    assert "7,000 steps" in article.text
    assert "Paluch" in article.text
    assert "newsletter" not in article.text.lower()
    assert "All rights reserved" not in article.text
    assert "Walking cuts heart risk" in article.title


def test_ingest_markdown_strips_syntax_keeps_lines():
    text = markdown_to_text(
        "# Vitamin D\n\n**Vitamin D** may help [bones](http://x.org).\n\n- item one\n- item two\n"
    )
    assert text.splitlines()[0] == "Vitamin D"
    assert "Vitamin D may help bones." in text
    assert "- item one" in text


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"", EmptyInputError, "empty"),
        (b"   \n\n ", EmptyInputError, "empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3 binary", UnsupportedInputError, "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", UnsupportedInputError, "PNG"),
        (bytes(range(256)) * 4, UnsupportedInputError, "binary"),
    ],
)
def test_ingest_rejects_bad_files(tmp_path, content, error, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        load_article(str(path), max_bytes=LIMIT)


def test_ingest_rejects_undecodable(tmp_path):
    path = tmp_path / "garbled.txt"
    # Noise with no NUL byte: not UTF-8, and no encoding makes readable text of it.
    path.write_bytes(random.Random(7).randbytes(4000).replace(b"\x00", b"\x01"))
    with pytest.raises(EncodingError, match="not valid text in any encoding"):
        load_article(str(path), max_bytes=LIMIT)


def test_ingest_rejects_missing_and_oversized(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        load_article(str(tmp_path / "nope.txt"), max_bytes=LIMIT)
    big = tmp_path / "big.txt"
    big.write_bytes(b"Walking helps. " * 1000)
    with pytest.raises(TooLargeError, match="over the limit"):
        load_article(str(big), max_bytes=10_000)


def test_ingest_stdin(tmp_path):
    with open(tmp_path / "in.txt", "wb+") as handle:
        handle.write(b"Green tea may lower blood pressure.\n")
        handle.seek(0)
        article = load_article("-", max_bytes=LIMIT, stdin=handle)
    assert article.source == "-" and "Green tea" in article.text


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/story":
            body = NEWS_HTML.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *args):
        pass


@pytest.fixture()
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_ingest_url_from_local_server(local_server):
    article = load_article(local_server + "/story", max_bytes=LIMIT, timeout=5)
    assert "7,000 steps" in article.text
    assert article.source.endswith("/story")


def test_ingest_url_errors(local_server):
    with pytest.raises(FetchError, match="404"):
        load_article(local_server + "/missing", max_bytes=LIMIT, timeout=5)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(FetchError, match="could not be fetched"):
        load_article(f"http://127.0.0.1:{closed_port}/x", max_bytes=LIMIT, timeout=5)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_ingest_points_a_corpus_file_to_score(tmp_path, suffix):
    """A corpus file given to annotate is refused with the command that reads it, not annotated as prose."""
    path = tmp_path / f"articles{suffix}"
    row = {"id": "a1", "text": "Walking 30 minutes a day lowered blood pressure in a 2019 trial."}
    path.write_text(json.dumps(row) + "\n" if suffix == ".jsonl" else "id,text\na1,Walking helps.\n")
    with pytest.raises(UnsupportedInputError, match=rf"a corpus of articles.*healthclaims score .*{suffix}"):
        load_article(str(path), max_bytes=LIMIT)
