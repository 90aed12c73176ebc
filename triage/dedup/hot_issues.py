"""Hot issues: clusters of same-matter petitions, ranked by size, recent growth and likes.

Candidate pairs come from the same-matter matcher :class:`~triage.dedup.matter.MatterIndex`
(``matcher="matter"``, the default: differently worded reports of one matter at one place meet)
or from the character-trigram MinHash LSH (``matcher="lexical"``: copies and light edits only);
pairs above the threshold form clusters by star clustering (each member links its centre
directly, :func:`star_clusters`). Heat, per cluster:

    heat = size + recent + 0.5 · ln(1 + likes)

where ``recent`` counts members in the last ``growth_days`` (growth) and ``likes`` sums the
members' likes (the TipDM heat index's support); a merged case counts its citizens in ``likes``
when the store passes them (see :mod:`triage.batch.hot`). Each cluster gets a
representative record (the best connected one) whose title names the issue. The batch
command and the web dashboard both call :func:`cluster_hot_issues`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from triage.errors import InputError
from triage.result import DuplicateCandidate
from triage.text.intake import prepare_text

CST = timezone(timedelta(hours=8), "CST")  # naive times in hotline exports are local time
DEFAULT_THRESHOLD = 0.4  # lexical matcher: char-trigram cosine
# Matter matcher: same-matter probability that links a report to an issue's centre. Below the
# duplicate check's fitted default (models/matter): a hot issue is a reading aid, not a merge; at
# 0.75 the scorer's test-half pairs are 0.90 precise at 0.83 recall.
MATTER_THRESHOLD = 0.75
MERGE_DENSITY = 0.5  # share of linked pairs across two stars that joins them (star_clusters)
DEFAULT_NEIGHBOURS = 30
# More, narrower LSH bands than duplicate detection (30 bands of 2 rows instead of 20 of 3), so
# pairs at similarity ~0.4 still meet in a bucket. Tuned on messages.csv: at 0.4 clusters are
# one matter each; at 0.3 and below generic phrasing ("请加快A市…建设力度") chains unrelated ones.
HOT_NUM_PERM = 60
HOT_BANDS = 30
KEYWORD_ISSUES = 100  # keywords (jieba) only for the first issues: the rest are rarely shown
BACKGROUND_DOCS = 1000  # sample of all records that keywords are contrasted with


@dataclass(slots=True)
class HotRecord:
    id: str
    text: str
    title: str | None = None
    time: datetime | None = None
    likes: int = 0
    category: str | None = None
    place: str | None = None  # an address field (address, community …), read as a place


@dataclass(slots=True)
class HeatWeights:
    """heat = size·w_size + recent·w_recent + ln(1 + likes)·w_likes (ranking of clusters)."""

    size: float = 1.0
    recent: float = 1.0
    likes: float = 0.5


@dataclass(slots=True)
class HotIssue:
    rank: int
    title: str
    representative_id: str
    size: int
    record_ids: list[str]
    heat: float
    likes: int = 0
    recent: int = 0  # records in the last ``growth_days`` before ``now``
    previous: int = 0  # records in the ``growth_days`` before that
    growth: float = 0.0  # (recent + 1) / (previous + 1): > 1 means the issue is growing
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    category: str | None = None  # most common category among members, when known
    keywords: list[str] = field(default_factory=list)
    place: str | None = None  # the place most members name (same-matter matcher only)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("first_seen", "last_seen"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def star_clusters(scores: list[dict[int, float]]) -> list[list[int]]:
    """Star clustering over the links ``scores[i][j]`` (symmetric): the best linked record not
    yet linked to a centre becomes one; every other record joins the centre it links to most
    strongly. Every member is thus the same matter as its centre; union-find would chain
    A–B–C–… into one issue through pairs that are each only *similar* (a place shared here, a
    problem there), and on templated texts it swallowed whole districts."""
    weight = [sum(links.values()) for links in scores]
    order = sorted(range(len(scores)), key=lambda i: (-len(scores[i]), -weight[i], i))
    centres: list[int] = []
    covered = [False] * len(scores)
    for i in order:
        if not covered[i]:
            centres.append(i)
            covered[i] = True
            for j in scores[i]:
                covered[j] = True
    is_centre = set(centres)
    cluster_of = {c: k for k, c in enumerate(centres)}
    for i in range(len(scores)):
        if i not in is_centre:
            best = max((c for c in scores[i] if c in is_centre), key=lambda c: (scores[i][c], -c))
            cluster_of[i] = cluster_of[best]
    return _merge_dense([cluster_of[i] for i in range(len(scores))], scores, len(centres))


def _merge_dense(cluster_of: list[int], scores: list[dict[int, float]], n: int) -> list[list[int]]:
    """Join two stars when at least half of the pairs across them link (average linkage on the
    links): one matter reported by many splits into stars whose centres do not link each other,
    while two matters at one place share only a few links."""
    size = Counter(cluster_of)
    cross: Counter[tuple[int, int]] = Counter()
    for i, links in enumerate(scores):
        for j in links:
            a, b = cluster_of[i], cluster_of[j]
            if a < b:
                cross[(a, b)] += 1
    stars = _UnionFind(n)
    for (a, b), linked in sorted(cross.items(), key=lambda kv: -kv[1] / (size[kv[0][0]] * size[kv[0][1]])):
        if linked >= MERGE_DENSITY * size[a] * size[b]:
            stars.union(a, b)
    members: dict[int, list[int]] = {}
    for i, k in enumerate(cluster_of):
        members.setdefault(stars.find(k), []).append(i)
    return list(members.values())


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # lowest index (earliest star) is the root


def as_record(obj: HotRecord | Mapping[str, Any]) -> HotRecord:
    if isinstance(obj, HotRecord):
        return obj
    from triage.tabular.files import parse_datetime

    likes = obj.get("likes") or 0
    try:
        likes = int(float(likes))
    except (TypeError, ValueError):
        likes = 0
    return HotRecord(
        id=str(obj["id"]),
        text=str(obj.get("text") or ""),
        title=obj.get("title") or None,
        time=parse_datetime(obj.get("time")),
        likes=likes,
        category=obj.get("category") or None,
        place=obj.get("place") or None,
    )


def _naive(t: datetime | None) -> datetime | None:
    """Naive local (China Standard Time) stamps, so file times and database times compare."""
    return t.astimezone(CST).replace(tzinfo=None) if t is not None and t.tzinfo is not None else t


def cluster_hot_issues(
    records: Iterable[HotRecord | Mapping[str, Any]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    threshold: float | None = None,
    min_size: int = 2,
    growth_days: int = 7,
    now: datetime | None = None,
    top: int | None = None,
    neighbours: int = DEFAULT_NEIGHBOURS,
    weights: HeatWeights | None = None,
    keywords: int = 5,
    matcher: str = "matter",
) -> list[HotIssue]:
    """Cluster ``records`` into hot issues, most heated first.

    ``since``/``until`` filter by record time (records without a time are kept only when no
    filter is given). ``now`` anchors the growth windows; by default it is the latest record
    time, so historical data ranks the way it did at the time. Records whose text fails
    intake (empty, no Chinese …) are skipped.
    """
    if matcher not in ("matter", "lexical"):
        raise InputError(f"matcher must be 'matter' or 'lexical', got {matcher!r}", field="matcher")
    weights = weights or HeatWeights()
    since, until = _naive(since), _naive(until)
    recs: list[HotRecord] = []
    texts: list[str] = []
    for raw in records:
        rec = as_record(raw)
        t = _naive(rec.time)
        if (since or until) and (t is None or (since and t < since) or (until and t >= until)):
            continue
        try:
            texts.append(prepare_text(f"{rec.title}\n{rec.text}" if rec.title else rec.text))
        except InputError:
            continue
        recs.append(rec)
    if not recs:
        return []

    keys = [str(i) for i in range(len(texts))]
    places: list[str | None] = [None] * len(recs)
    if matcher == "matter":
        threshold = MATTER_THRESHOLD if threshold is None else threshold
        found_all, places = _matter_pairs(recs, texts, keys, threshold, neighbours)
    else:
        threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        found_all = _lexical_pairs(texts, keys, threshold, neighbours)
    scores: list[dict[int, float]] = [{} for _ in recs]
    degree = [0.0] * len(recs)
    for i, found in enumerate(found_all):
        for cand in found:
            j = int(cand.case_id)
            if cand.score >= threshold and j != i:
                score = max(float(cand.score), scores[i].get(j, 0.0))
                scores[i][j] = scores[j][i] = score
                degree[i] += float(cand.score)
    times = [_naive(r.time) for r in recs]
    anchor = _naive(now) or max((t for t in times if t is not None), default=None)
    ranked = [
        (_issue(recs, texts, times, idx, degree, anchor, growth_days, weights), idx)
        for idx in star_clusters(scores)
        if len(idx) >= min_size
    ]
    for issue, idx in ranked:
        named = Counter(places[i] for i in idx if places[i])
        issue.place = named.most_common(1)[0][0] if named else None
    ranked.sort(key=lambda p: p[1][0])  # stable sorts, last key first: input order breaks ties
    ranked.sort(key=lambda p: p[0].last_seen or datetime.min, reverse=True)
    ranked.sort(key=lambda p: (p[0].heat, p[0].size), reverse=True)
    ranked = ranked[:top] if top else ranked
    background = _doc_freq(texts[:: max(1, len(texts) // BACKGROUND_DOCS)]) if keywords and ranked else None
    for rank, (issue, idx) in enumerate(ranked, start=1):
        issue.rank = rank
        if background is not None and rank <= KEYWORD_ISSUES:
            issue.keywords = _keywords([texts[i] for i in idx], background, keywords)
    return [issue for issue, _ in ranked]


def _lexical_pairs(
    texts: list[str], keys: list[str], threshold: float, neighbours: int
) -> list[list[DuplicateCandidate]]:
    """Copy-level neighbours of every record; the set's own template wording (:func:`template_keys`
    of its texts) is left out, as the profile's index leaves the city's out."""
    from triage.dedup.lexical import DuplicateIndex
    from triage.dedup.sketch import template_keys

    index = DuplicateIndex(
        threshold=threshold,
        num_perm=HOT_NUM_PERM,
        window_days=None,
        bands=HOT_BANDS,
        templates=template_keys(texts).tolist(),
    )
    index.add_many(zip(keys, texts, [None] * len(texts), strict=True))
    return index.query_many(texts, k=neighbours, exclude=keys)


def _matter_pairs(
    recs: list[HotRecord], texts: list[str], keys: list[str], threshold: float, neighbours: int
) -> tuple[list[list[DuplicateCandidate]], list[str | None]]:
    """Same-matter neighbours of every record (dated: the time gap counts) and each one's main place."""
    from triage.dedup.matter import MatterIndex

    index = MatterIndex(threshold=threshold, window_days=None)
    docs = [
        index.doc(t, {"category": r.category, "fields": [r.place] if r.place else []})
        for r, t in zip(recs, texts, strict=True)
    ]
    metas = [{"tokens": d.tokens, "places": d.places, "category": d.category, "lead": d.lead} for d in docs]
    order = sorted(range(len(recs)), key=lambda i: (_naive(recs[i].time) or datetime.min, i))
    index.add_many((keys[i], texts[i], recs[i].time, metas[i]) for i in order)
    found = [
        index.query(texts[i], now=recs[i].time, k=neighbours, exclude=keys[i], meta=metas[i])
        for i in range(len(recs))
    ]
    return found, [d.places.fine[0] if d.places.fine else None for d in docs]


def _issue(
    recs: list[HotRecord],
    texts: list[str],
    times: list[datetime | None],
    idx: list[int],
    degree: list[float],
    anchor: datetime | None,
    growth_days: int,
    weights: HeatWeights,
) -> HotIssue:
    # Representative: best connected member; ties → most liked → earliest in input.
    rep = min(idx, key=lambda i: (-degree[i], -recs[i].likes, i))
    stamps = [t for i in idx if (t := times[i]) is not None]
    recent = previous = 0
    if anchor is not None:
        window = timedelta(days=growth_days)
        recent = sum(1 for t in stamps if anchor - window < t <= anchor)
        previous = sum(1 for t in stamps if anchor - 2 * window < t <= anchor - window)
    likes = sum(max(recs[i].likes, 0) for i in idx)
    heat = weights.size * len(idx) + weights.recent * recent + weights.likes * math.log1p(likes)
    cats = Counter(recs[i].category for i in idx if recs[i].category)
    return HotIssue(
        rank=0,
        title=_title(recs[rep], texts[rep]),
        representative_id=recs[rep].id,
        size=len(idx),
        record_ids=[recs[i].id for i in idx],
        heat=round(heat, 3),
        likes=likes,
        recent=recent,
        previous=previous,
        growth=round((recent + 1) / (previous + 1), 3),
        first_seen=min(stamps) if stamps else None,
        last_seen=max(stamps) if stamps else None,
        category=cats.most_common(1)[0][0] if cats else None,
    )


def _title(rec: HotRecord, text: str, limit: int = 40) -> str:
    title = (rec.title or "").strip() or text.split("\n", 1)[0]
    return title if len(title) <= limit else title[: limit - 1] + "…"


def _doc_freq(texts: list[str]) -> tuple[Counter[str], int]:
    """Document frequency of the terms of each text's first line (the title, when there is one:
    titles name the matter, bodies are long and repetitive)."""
    from triage.text.tokenizer import tokenize

    df: Counter[str] = Counter()
    for text in texts:
        df.update({t for t in tokenize(text.split("\n", 1)[0][:200]) if len(t) > 1})
    return df, max(len(texts), 1)


def _keywords(texts: list[str], background: tuple[Counter[str], int], n: int) -> list[str]:
    """Terms common in the cluster's titles but not in general: share of members minus share
    of a background sample of all records; longer terms first on ties."""
    df, size = _doc_freq(texts[:50])
    bg, bg_size = background
    score = {t: c / size - bg[t] / bg_size for t, c in df.items()}
    return [t for t, _ in sorted(score.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))[:n]]
