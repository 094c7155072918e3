"""The review store: flagged claims queued in SQLite, decisions recorded the moment they are made.

One database file (default `reviews.db`):
- `items`: one claim to review, keyed by a stable id (article id, offsets and
  a hash of the text), with its context, source, prediction, cues and flags;
- `decisions`: every decision ever made, append-only. The current state of an
  item is its latest decision not undone; `undo` marks a reviewer's latest
  decision undone, which restores the state before it;
- `leases`: which reviewer is looking at which item, so two reviewers
  working on one queue at the same time are handed different claims.

The schema version is SQLite's `user_version`; `open_store` creates or
migrates the schema and refuses a database from a newer healthclaims. WAL
mode lets a terminal and the web page review at once; every write is one
short `BEGIN IMMEDIATE` transaction, and a decision names the item version
it was made on, so a double submit or a race records one decision, not two.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.errors import ReviewError
from pipeline.schema import LABELS

SCHEMA_VERSION = 1
DECISIONS = ("accept", "relabel", "not-a-claim", "skip")
ORDERS = ("uncertain", "article", "confidence")
LABEL_VALUES = tuple(label.value for label in LABELS)
LEASE = timedelta(minutes=10)

_MIGRATIONS = {
    1: """
    CREATE TABLE items (
        id TEXT PRIMARY KEY,
        article_id TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        before TEXT NOT NULL DEFAULT '',
        after TEXT NOT NULL DEFAULT '',
        label TEXT NOT NULL,
        confidence REAL NOT NULL,
        probabilities TEXT NOT NULL DEFAULT '{}',
        cues TEXT NOT NULL DEFAULT '[]',
        flags TEXT NOT NULL DEFAULT '[]',
        attributes TEXT NOT NULL DEFAULT '{}',
        model TEXT NOT NULL DEFAULT '',
        imported_at TEXT NOT NULL,
        seq INTEGER NOT NULL
    );
    CREATE TABLE decisions (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        item_id TEXT NOT NULL REFERENCES items(id),
        decision TEXT NOT NULL CHECK (decision IN ('accept', 'relabel', 'not-a-claim', 'skip')),
        label TEXT CHECK (label IS NULL OR label IN ('study-backed', 'anecdotal', 'promotional')),
        reviewer TEXT NOT NULL,
        at TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        undone_at TEXT
    );
    CREATE INDEX decisions_item ON decisions(item_id);
    CREATE TABLE leases (item_id TEXT PRIMARY KEY, reviewer TEXT NOT NULL, until TEXT NOT NULL);
    """,
}


@dataclass(frozen=True)
class Item:
    """A claim in the review queue, with its current state."""

    id: str
    article_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    before: str
    after: str
    label: str
    confidence: float
    probabilities: dict
    cues: list
    flags: list
    attributes: dict
    version: int  # decisions made on this item so far (undone ones included)
    decision: str | None = None  # the current decision, if any
    reviewed_label: str | None = None


def claim_key(article_id: str, start: int, end: int, text: str) -> str:
    """A claim's stable id: the same claim imported twice gets the same id."""
    digest = hashlib.sha256(f"{article_id}\t{start}\t{end}\t{text}".encode()).hexdigest()
    return digest[:20]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ReviewStore:
    """A review database, open and at the current schema version."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, taken at once (BEGIN IMMEDIATE): all of it lands or none."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise _explain(err, self.path) from err
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException as err:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):
                raise _explain(err, self.path) from err
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _lease(self, item_id: str, reviewer: str) -> None:
        """Hand an item to a reviewer for `LEASE` (inside a write transaction)."""
        until = (datetime.now(UTC) + LEASE).isoformat(timespec="milliseconds")
        self.db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (item_id, reviewer, until))

    # ---------------------------------------------------------------- import

    def add_items(self, records: Iterable[dict], *, model: str = "") -> tuple[int, int]:
        """Queue claim records (see `records_from_reports`); returns (added, already there)."""
        rows = list(records)
        added = 0
        with self._write() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM items").fetchone()[0]
            for record in rows:
                seq += 1
                cursor = db.execute(
                    "INSERT OR IGNORE INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        claim_key(record["article_id"], record["start"], record["end"], record["text"]),
                        record["article_id"],
                        record.get("source", ""),
                        record.get("title", ""),
                        record["text"],
                        record["start"],
                        record["end"],
                        record.get("before", ""),
                        record.get("after", ""),
                        record["label"],
                        float(record["confidence"]),
                        json.dumps(record.get("probabilities", {})),
                        json.dumps(record.get("cues", [])),
                        json.dumps(record.get("flags", [])),
                        json.dumps(record.get("attributes", {})),
                        record.get("model", model),
                        _now(),
                        seq,
                    ),
                )
                added += cursor.rowcount
        return added, len(rows) - added

    # ---------------------------------------------------------------- the queue

    def _items(self, where: str, params: list, order: str, limit: int | None = None) -> list[Item]:
        order_by = {
            "uncertain": "i.confidence ASC, i.seq",
            "confidence": "i.confidence DESC, i.seq",
            "article": "i.seq",
        }[order]
        sql = f"""
            SELECT i.*, (SELECT COUNT(*) FROM decisions d WHERE d.item_id = i.id) AS version,
                   c.decision, c.label AS reviewed_label
            FROM items i
            LEFT JOIN decisions c ON c.n = (
                SELECT MAX(n) FROM decisions d WHERE d.item_id = i.id AND d.undone_at IS NULL)
            WHERE {where} ORDER BY {order_by}{" LIMIT ?" if limit else ""}"""
        rows = self.db.execute(sql, [*params, limit] if limit else params).fetchall()
        return [_item(row) for row in rows]

    def _filters(self, *, flag: str | None, label: str | None, source: str | None) -> tuple[str, list]:
        where, params = ["1 = 1"], []
        if flag:
            where.append("EXISTS (SELECT 1 FROM json_each(i.flags) WHERE value = ?)")
            params.append(flag)
        if label:
            where.append("i.label = ?")
            params.append(label)
        if source:
            where.append("(i.source LIKE ? OR i.article_id LIKE ?)")
            params += [f"%{source}%", f"%{source}%"]
        return " AND ".join(where), params

    def next_item(
        self,
        reviewer: str,
        *,
        order: str = "uncertain",
        flag: str | None = None,
        label: str | None = None,
        source: str | None = None,
    ) -> Item | None:
        """The next undecided claim for `reviewer`, leased to them so nobody else is handed it."""
        where, params = self._filters(flag=flag, label=label, source=source)
        now = _now()
        with self._write() as db:
            db.execute("DELETE FROM leases WHERE until < ? OR reviewer = ?", (now, reviewer))
            items = self._items(
                f"""{where} AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.item_id = i.id AND d.undone_at IS NULL)
                AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.item_id = i.id)""",
                params,
                order,
                limit=1,
            )
            if not items:
                return None
            self._lease(items[0].id, reviewer)
        return items[0]

    def items(self) -> list[Item]:
        """Every queued claim with its current state, in import order."""
        return self._items("1 = 1", [], "article")

    def item(self, item_id: str) -> Item:
        """One item by id, with its current state."""
        items = self._items("i.id = ?", [item_id], "article")
        if not items:
            raise ReviewError(f"No claim {item_id!r} in {self.path}.")
        return items[0]

    def progress(
        self, *, flag: str | None = None, label: str | None = None, source: str | None = None
    ) -> dict:
        """How many queued claims match the filters, and how many of them are decided."""
        where, params = self._filters(flag=flag, label=label, source=source)
        total, decided = self.db.execute(
            f"""SELECT COUNT(*), COALESCE(SUM(EXISTS (SELECT 1 FROM decisions d
                WHERE d.item_id = i.id AND d.undone_at IS NULL)), 0) FROM items i WHERE {where}""",
            params,
        ).fetchone()
        return {"total": total, "decided": decided, "left": total - decided}

    # ---------------------------------------------------------------- decisions

    def decide(
        self,
        item_id: str,
        decision: str,
        *,
        reviewer: str,
        label: str | None = None,
        note: str = "",
        version: int | None = None,
    ) -> bool:
        """Record a decision at once. With `version` (the item version it was made on), a decision
        already overtaken (a double submit, a race) is not recorded twice; returns whether it was recorded."""
        if decision not in DECISIONS:
            raise ReviewError(f"Decision {decision!r} is not one of {', '.join(DECISIONS)}.")
        if decision == "relabel" and label not in LABEL_VALUES:
            raise ReviewError(f"Relabel needs one of {', '.join(LABEL_VALUES)}, not {label!r}.")
        if not reviewer.strip():
            raise ReviewError("A decision needs a reviewer name (--reviewer).")
        with self._write() as db:
            row = db.execute(
                "SELECT i.label, (SELECT COUNT(*) FROM decisions d WHERE d.item_id = i.id) FROM items i WHERE id = ?",
                (item_id,),
            ).fetchone()
            if row is None:
                raise ReviewError(f"No claim {item_id!r} in {self.path}.")
            predicted, current_version = row
            if version is not None and version != current_version:
                return False
            stored_label = {"accept": predicted, "relabel": label}.get(decision)
            db.execute(
                "INSERT INTO decisions (item_id, decision, label, reviewer, at, note) VALUES (?, ?, ?, ?, ?, ?)",
                (item_id, decision, stored_label, reviewer, _now(), note),
            )
            db.execute("DELETE FROM leases WHERE item_id = ?", (item_id,))
        return True

    def undo(self, reviewer: str) -> Item | None:
        """Undo `reviewer`'s latest decision still in force; the item it was on, or None."""
        with self._write() as db:
            row = db.execute(
                "SELECT n, item_id FROM decisions WHERE reviewer = ? AND undone_at IS NULL ORDER BY n DESC LIMIT 1",
                (reviewer,),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE decisions SET undone_at = ? WHERE n = ?", (_now(), row[0]))
            self._lease(row[1], reviewer)
        return self.item(row[1])

    def note(self, item_id: str, text: str, *, reviewer: str) -> None:
        """Attach a note to the reviewer's current decision on an item (or a skip with the note)."""
        with self._write() as db:
            row = db.execute(
                "SELECT n FROM decisions WHERE item_id = ? AND reviewer = ? AND undone_at IS NULL "
                "ORDER BY n DESC LIMIT 1",
                (item_id, reviewer),
            ).fetchone()
            if row is None:
                raise ReviewError("Decide on the claim first, then add a note to the decision.")
            db.execute("UPDATE decisions SET note = ? WHERE n = ?", (text, row[0]))

    # ---------------------------------------------------------------- results

    def decided(self) -> list[tuple[Item, dict]]:
        """Every decision in force (one per reviewer and item, the latest), skips left out."""
        rows = self.db.execute(
            """SELECT d.item_id, d.decision, d.label, d.reviewer, d.at, d.note FROM decisions d
               WHERE d.undone_at IS NULL AND d.decision != 'skip' AND d.n = (
                 SELECT MAX(n) FROM decisions e WHERE e.item_id = d.item_id AND e.reviewer = d.reviewer
                 AND e.undone_at IS NULL)
               ORDER BY d.n"""
        ).fetchall()
        items = {item.id: item for item in self.items()}
        return [
            (
                items[item_id],
                {"decision": decision, "label": label, "reviewer": reviewer, "at": at, "note": note},
            )
            for item_id, decision, label, reviewer, at, note in rows
        ]

    def stats(self) -> dict:
        """Counts by decision, predicted against reviewed label, and Cohen's kappa between reviewers."""
        from sklearn.metrics import cohen_kappa_score, confusion_matrix

        counts = dict(
            self.db.execute(
                "SELECT decision, COUNT(*) FROM decisions WHERE undone_at IS NULL GROUP BY decision"
            ).fetchall()
        )
        decided = self.decided()
        reviewed = [(item.label, d["label"] or "not a claim") for item, d in decided]
        columns = [*LABEL_VALUES, "not a claim"]
        matrix = (
            confusion_matrix([p for p, _ in reviewed], [r for _, r in reviewed], labels=columns).tolist()
            if reviewed
            else [[0] * len(columns) for _ in columns]
        )
        by_reviewer: dict[str, dict[str, str]] = {}
        for item, d in decided:
            by_reviewer.setdefault(d["reviewer"], {})[item.id] = d["label"] or "not a claim"
        kappas = []
        names = sorted(by_reviewer)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                shared = sorted(set(by_reviewer[first]) & set(by_reviewer[second]))
                if len(shared) >= 2:
                    a = [by_reviewer[first][k] for k in shared]
                    b = [by_reviewer[second][k] for k in shared]
                    kappa = cohen_kappa_score(a, b) if len(set(a) | set(b)) > 1 else 1.0
                    kappas.append(
                        {"reviewers": (first, second), "shared": len(shared), "kappa": round(float(kappa), 3)}
                    )
        return {
            "items": self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0],
            "decisions": {name: counts.get(name, 0) for name in DECISIONS},
            "reviewers": Counter(d["reviewer"] for _, d in decided),
            "confusion": {"labels": columns, "rows_predicted_columns_reviewed": matrix[: len(LABEL_VALUES)]},
            "agreement": sum(p == r for p, r in reviewed) / len(reviewed) if reviewed else None,
            "kappa": kappas,
        }


def _item(row: sqlite3.Row) -> Item:
    return Item(
        id=row["id"],
        article_id=row["article_id"],
        source=row["source"],
        title=row["title"],
        text=row["text"],
        start=row["start"],
        end=row["end"],
        before=row["before"],
        after=row["after"],
        label=row["label"],
        confidence=row["confidence"],
        probabilities=json.loads(row["probabilities"]),
        cues=json.loads(row["cues"]),
        flags=json.loads(row["flags"]),
        attributes=json.loads(row["attributes"]),
        version=row["version"],
        decision=row["decision"],
        reviewed_label=row["reviewed_label"],
    )


def _explain(err: sqlite3.Error, path: Path) -> ReviewError:
    message = str(err).lower()
    if "locked" in message or "busy" in message:
        return ReviewError(f"{path} is locked by another program. Wait for it to finish, then try again.")
    if "readonly" in message or "read-only" in message:
        return ReviewError(f"{path} is read-only. Check its permissions (and its folder's), or copy it.")
    if "not a database" in message or "malformed" in message:
        return ReviewError(f"{path} is not a healthclaims review database (or it is corrupt).")
    return ReviewError(f"{path}: {err}.")


def open_store(path: Path, *, create: bool = True) -> ReviewStore:
    """Open (creating or migrating) the review database at `path`."""
    path = Path(path)
    if not path.exists() and not create:
        raise ReviewError(f"No review database at {path}. Import claims first: healthclaims review import.")
    try:
        db = sqlite3.connect(path, timeout=5.0, isolation_level=None)  # transactions are explicit
        db.row_factory = sqlite3.Row
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            db.close()
            raise ReviewError(
                f"{path} was made by a newer healthclaims (schema {version}; this one reads up to "
                f"{SCHEMA_VERSION}). Upgrade healthclaims."
            )
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        store = ReviewStore(db, path)
        if version < SCHEMA_VERSION:
            with store._write():
                if version == 0 and db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                    raise ReviewError(
                        f"{path} is an SQLite database of something else, not of healthclaims reviews."
                    )
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[step].split(";"):  # executescript would commit midway
                        if statement.strip():
                            db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return store
    except sqlite3.DatabaseError as err:
        raise _explain(err, path) from err


# ---------------------------------------------------------------- reading reports


def records_from_reports(paths: Iterable[Path], *, every_claim: bool = False) -> list[dict]:
    """Claim records from `annotate` JSON / JSON Lines output or `score` output folders.

    Only flagged claims unless `every_claim`. Raises ReviewError, before
    anything is written, for a file that is none of these.
    """
    records: list[dict] = []
    for path in map(Path, paths):
        if path.is_dir():
            records += _from_score_folder(path)
        elif path.is_file():
            records += _from_annotate_file(path)
        else:
            raise ReviewError(
                f"{path} does not exist. Give annotate JSON/JSONL files or score output folders."
            )
    return [r for r in records if every_claim or r["flags"]]


def _from_annotate_file(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        first = json.loads(text.splitlines()[0]) if text else None
    except json.JSONDecodeError:
        first = None  # pretty-printed JSON: not one object per line
    try:
        if not (isinstance(first, dict) and "article_id" in first):
            data = json.loads(text)
            reports = data if isinstance(data, list) else [data]
            return [record for report in reports for record in _from_report(report, path)]
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as err:
        raise ReviewError(f"{path} is not healthclaims annotate JSON or JSON Lines ({err}).") from err
    if not all(isinstance(r, dict) and "article_id" in r and "text" in r for r in rows):
        raise ReviewError(
            f"{path} is not healthclaims annotate JSON Lines (each line a claim with article_id)."
        )
    by_article: dict[str, list[dict]] = {}
    for row in rows:
        by_article.setdefault(row["article_id"], []).append(row)
    records = []
    for article_id, claims in by_article.items():
        records += _with_context(claims, article_id=article_id, source=str(path), title="")
    return records


def _from_report(report: dict, path: Path) -> list[dict]:
    if not isinstance(report, dict) or report.get("schema", "").split("@")[0] != "healthclaims/report":
        raise ReviewError(f"{path} is not a healthclaims report (no 'schema': 'healthclaims/report@1').")
    article = report["article"]
    model = report.get("model", {}).get("version", "")
    return _with_context(
        report["claims"],
        article_id=article["id"],
        source=article.get("source", ""),
        title=article.get("title", ""),
        model=model,
    )


def _with_context(
    sentences: list[dict], *, article_id: str, source: str, title: str, model: str = ""
) -> list[dict]:
    """Claim records with the sentence before and after each (from `--all-sentences` output when given)."""
    ordered = sorted(sentences, key=lambda s: s["start"])
    records = []
    for i, sentence in enumerate(ordered):
        if sentence.get("is_claim", True) is False or not sentence.get("label"):
            continue
        records.append(
            {
                "article_id": article_id,
                "source": source,
                "title": title,
                "text": sentence["text"],
                "start": int(sentence["start"]),
                "end": int(sentence["end"]),
                "before": ordered[i - 1]["text"] if i else "",
                "after": ordered[i + 1]["text"] if i + 1 < len(ordered) else "",
                "label": sentence["label"],
                "confidence": float(sentence["confidence"]),
                "probabilities": sentence.get("probabilities", {}),
                "cues": sentence.get("cues", []),
                "flags": list(sentence.get("flags", [])),
                "attributes": sentence.get("attributes", {}),
                "model": model,
            }
        )
    return records


def _from_score_folder(folder: Path) -> list[dict]:
    claims_path, articles_path = folder / "claims.parquet", folder / "articles.parquet"
    if not claims_path.is_file() or not articles_path.is_file():
        raise ReviewError(f"{folder} is not a healthclaims score output folder (claims.parquet missing).")
    import pyarrow.parquet as pq

    try:
        claims = pq.read_table(claims_path).to_pylist()
        articles = {row["article_id"]: row for row in pq.read_table(articles_path).to_pylist()}
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise ReviewError(f"{folder}: cannot read the score tables ({err}).") from err
    attributes = ("cites_source", "vague_evidence", "hedged", "absolute", "hype")
    return [
        {
            "article_id": row["article_id"],
            "source": articles.get(row["article_id"], {}).get("source", ""),
            "title": articles.get(row["article_id"], {}).get("title", ""),
            "text": row["text"],
            "start": row["start"],
            "end": row["end"],
            "before": row.get("context_before", "") or "",
            "after": row.get("context_after", "") or "",
            "label": row["label"],
            "confidence": row["confidence"],
            "flags": [flag for flag in (row["flags"] or "").split(";") if flag],
            "attributes": {name: bool(row[name]) for name in attributes},
        }
        for row in claims
    ]


# ---------------------------------------------------------------- learning from it


def export_corpus_rows(store: ReviewStore) -> list[dict]:
    """Decisions in the corpus format (corpus/README.md), one row per reviewed claim.

    Where reviewers disagree on an item, the latest decision wins.
    """
    latest: dict[str, tuple[Item, dict]] = {}
    for item, decision in store.decided():
        latest[item.id] = (item, decision)
    rows = []
    for item, decision in latest.values():
        claim = decision["decision"] != "not-a-claim"
        rows.append(
            {
                "text": item.text,
                "claim": claim,
                "label": decision["label"] if claim else None,
                "attrs": [name for name, on in item.attributes.items() if on and claim],
                "topic": "review",
                "genre": "review",
                "context": item.before,
                "source": item.source,
                "article_id": item.article_id,
                "reviewer": decision["reviewer"],
                "decision": decision["decision"],
                "note": decision["note"],
            }
        )
    return rows


def export_label_studio(store: ReviewStore) -> list[dict]:
    """Label Studio tasks: each claim with its context, the model's prediction and score, and the review."""
    tasks = []
    for item in store.items():
        task = {
            "data": {
                "text": item.text,
                "before": item.before,
                "after": item.after,
                "article_id": item.article_id,
                "source": item.source,
                "claim_id": item.id,
            },
            "predictions": [
                {
                    "model_version": "healthclaims",
                    "score": item.confidence,
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [item.label]},
                        }
                    ],
                }
            ],
        }
        if item.decision and item.decision != "skip":
            task["annotations"] = [
                {
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [item.reviewed_label or "not a claim"]},
                        }
                    ]
                }
            ]
        tasks.append(task)
    return tasks


def review_sentences(path: Path):
    """Reviewed claims as corpus sentences (`GoldSentence`), for `train --with-reviews`."""
    from pipeline.corpus import GoldSentence

    with open_store(path, create=False) as store:
        rows = export_corpus_rows(store)
    return [
        GoldSentence(
            text=row["text"],
            claim=row["claim"],
            label=row["label"],
            attrs=tuple(row["attrs"]),
            start=0,
            end=0,
            context=row["context"],
            topic="review",
            genre="review",
        )
        for row in rows
    ]
