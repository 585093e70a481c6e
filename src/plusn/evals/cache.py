"""``plusn eval cache``: how often the response cache reuses an answer for the same question asked
in other words, and how often it reuses one for a different question, at each threshold.

Each pair ``{"a", "b", "same", "lang"}`` is replayed through the product's own cache
(:class:`~plusn.cache.response_cache.ResponseCache` on the configured deployment): an answer to
``a`` is kept under a scope of its own (a caller of its own), then ``b`` is looked up as the
gateway looks a question up, the exact key first (the normalised question), then the nearest
question of the scope by cosine of the query embeddings of ``cache.embedding_model``. The lookup
runs with the threshold lowered to almost nothing, so it says how alike the nearest question is;
the pair hits at threshold t when that similarity is at least t, the test the index makes. The
questions are embedded ahead in batches (the embedder gives the same vectors one at a time).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import jsonl
from ..assemble import Deployment
from ..cache.index import Answer
from ..cache.response_cache import ResponseCache
from ..cache.spec import CacheRoute, CacheSettings
from ..errors import ConfigError
from ..fleet.backend import EmbedQuery, GenRequest, Member
from .progress import Bar

# The lookup's threshold while replaying: any nearest question above it reports its similarity.
_FLOOR = 1e-6
# Questions per call into the embedder while embedding ahead.
_BATCH = 64
# The default sweep: 0.80, 0.81, ..., 0.99.
SWEEP = tuple(round(0.80 + i / 100, 2) for i in range(20))
_ANSWER = Answer("", "stop", 0, 0, "", None, 0.0)


@dataclass(frozen=True, slots=True)
class Pair:
    """``a`` is asked (and its answer kept) first, ``b`` after it; ``same``: one question."""

    a: str
    b: str
    same: bool
    lang: str


def load_pairs(path: str | Path) -> list[Pair]:
    """The pairs of a JSONL file; a malformed line is a ConfigError naming it."""
    pairs = []
    for n, row in jsonl.numbered(path, "cache pairs"):
        ok = isinstance(row, dict) and all(isinstance(row.get(k), str) and row[k].strip() for k in ("a", "b", "lang"))
        if not ok or not isinstance(row.get("same"), bool):
            raise ConfigError(f'{path}:{n}: expected {{"a": str, "b": str, "same": true|false, "lang": str}}')
        pairs.append(Pair(row["a"], row["b"], row["same"], row["lang"]))
    if not pairs:
        raise ConfigError(f"{path}: no pairs")
    return pairs


def parse_thresholds(spec: str | None) -> tuple[float, ...]:
    """``0.8,0.9,0.95`` or ``START:STOP:STEP`` (STOP included); None: :data:`SWEEP`."""
    if not spec:
        return SWEEP
    try:
        if ":" in spec:
            start, stop, step = (float(x) for x in spec.split(":"))
            if step <= 0:
                raise ValueError
            count = round((stop - start) / step) + 1
            values = [round(start + i * step, 6) for i in range(count)]
        else:
            values = [float(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--thresholds {spec!r}: expected 0.8,0.9,... or START:STOP:STEP") from None
    if not values or not all(0 < v <= 1 for v in values):
        raise ConfigError(f"--thresholds {spec!r}: thresholds lie in (0, 1]")
    return tuple(sorted(set(values)))


class _Replay:
    """The deployment as the cache reads it, with the cache on (semantic, any temperature) for
    one served name at the floor threshold, and the questions' vectors embedded ahead."""

    def __init__(self, d: Deployment, name: str, vectors: dict[str, list[float]]) -> None:
        self._d = d
        self._vectors = vectors
        route = CacheRoute(enabled=True, semantic=True, threshold=_FLOOR, sampled=True)
        self._settings = d.settings.cache.model_copy(update={"enabled": True, "routes": {name: route}})

    @property
    def cache_settings(self) -> CacheSettings:
        return self._settings

    def is_model(self, name: str) -> bool:
        return self._d.is_model(name)

    def member(self, name: str) -> Member:
        return self._d.member(name)

    def versions(self) -> str:
        return self._d.versions()

    def knowledge_generations(self) -> str:
        return self._d.knowledge_generations()

    def cache_embed(self) -> EmbedQuery | None:
        real = self._d.cache_embed()
        if real is None:
            return None

        async def embed(text: str) -> list[float]:
            ahead = self._vectors.get(text)
            return ahead if ahead is not None else await real(text)

        return embed


async def _embed_ahead(d: Deployment, texts: list[str], progress: Callable[[int, int], None]) -> dict[str, list[float]]:
    """The query embeddings of ``texts`` by the cache's embedding model, in batches."""
    name = d.settings.cache.embedding_model
    if name is None or d.cache_embed() is None:
        return {}
    backend = await d.fleet.embedder(name)
    out: dict[str, list[float]] = {}
    for i in range(0, len(texts), _BATCH):
        chunk = texts[i : i + _BATCH]
        vectors, _ = await backend.embed(chunk, kind="query")
        out.update(zip(chunk, vectors, strict=True))
        progress(min(i + _BATCH, len(texts)), len(texts))
    return out


def _ask(text: str) -> GenRequest:
    return GenRequest(kind="chat", messages=[{"role": "user", "content": text}], temperature=0)


async def replay(d: Deployment, pairs: list[Pair], progress: Callable[[int, int], None]) -> list[tuple[str, float]]:
    """For each pair, how the cache finds ``b`` after keeping ``a``: ("exact", 1.0),
    ("semantic", similarity of the nearest), or ("miss", 0.0) (no embedding model, or not
    alike at all)."""
    texts = list(dict.fromkeys(t for p in pairs for t in (p.a, p.b)))
    vectors = await _embed_ahead(d, texts, progress)
    name = next(iter(d.settings.models))  # names the cache's bounds only: no model is called
    cache = ResponseCache(_Replay(d, name, vectors))
    out: list[tuple[str, float]] = []
    for i, p in enumerate(pairs):
        tenant = f"pair-{i}"
        first = cache.plan(tenant, name, _ask(p.a))
        if isinstance(first, str):
            raise ConfigError(f"the cache passes the questions by: {first}")
        await cache.lookup(first)  # a miss in a scope of its own; embeds a
        kept = cache.keep(first, _ANSWER, False)
        if isinstance(kept, str):
            raise ConfigError(f"the cache would not keep an answer: {kept}")
        second = cache.plan(tenant, name, _ask(p.b))
        hit = await cache.lookup(second) if not isinstance(second, str) else None
        out.append((hit.kind, hit.similarity) if hit is not None else ("miss", 0.0))
        cache.clear(tenant=tenant)
    return out


def _rates(rows: list[tuple[Pair, str, float]], t: float) -> dict[str, Any]:
    same = [kind != "miss" and sim >= t for p, kind, sim in rows if p.same]
    different = [kind != "miss" and sim >= t for p, kind, sim in rows if not p.same]
    return {"hit_rate": round(sum(same) / len(same), 4) if same else None,
            "wrong_hit_rate": round(sum(different) / len(different), 4) if different else None,
            "hits": sum(same), "paraphrases": len(same), "wrong_hits": sum(different), "different": len(different)}


def at(rows: list[tuple[Pair, str, float]], t: float, langs: list[str]) -> dict[str, Any]:
    """The figures at threshold ``t``: overall, and per language under ``by_lang``."""
    return {"threshold": t, **_rates(rows, t),
            "by_lang": {lang: _rates([r for r in rows if r[0].lang == lang], t) for lang in langs}}


def _safe(point: dict[str, Any], max_wrong: float) -> bool:
    groups = [point, *point["by_lang"].values()]
    return all(g["wrong_hit_rate"] is None or g["wrong_hit_rate"] <= max_wrong for g in groups)


def _hardest(rows: list[tuple[Pair, str, float]], same: bool, n: int = 10) -> list[dict[str, Any]]:
    """The paraphrases the cache found least alike, or the different questions most alike."""
    chosen = sorted((r for r in rows if r[0].same == same), key=lambda r: r[2], reverse=not same)[:n]
    return [{"a": p.a, "b": p.b, "lang": p.lang, "kind": kind, "similarity": round(sim, 4)} for p, kind, sim in chosen]


async def evaluate(d: Deployment, data: str | Path, thresholds: tuple[float, ...] = SWEEP, progress: bool = True,
                   max_wrong: float = 0.01) -> dict[str, Any]:
    pairs = load_pairs(data)
    default = d.settings.cache.threshold
    bar = Bar(progress, "embedding questions", "question")
    try:
        found = await replay(d, pairs, bar.update)
    finally:
        bar.close()
    rows = [(p, kind, sim) for p, (kind, sim) in zip(pairs, found, strict=True)]
    langs = sorted({p.lang for p in pairs})
    sweep = [at(rows, t, langs) for t in sorted({*thresholds, default})]
    safe = [s for s in sweep if _safe(s, max_wrong)]
    counts = {lang: {"same": sum(p.same for p in pairs if p.lang == lang),
                     "different": sum(not p.same for p in pairs if p.lang == lang)} for lang in langs}
    exact = {"same": sum(kind == "exact" for p, kind, _ in rows if p.same),
             "different": sum(kind == "exact" for p, kind, _ in rows if not p.same)}
    return {"data": str(data), "pairs": len(pairs), "embedding_model": d.settings.cache.embedding_model,
            **at(rows, default, langs), "default": default, "counts": counts, "exact": exact,
            "max_wrong": max_wrong, "lowest_safe": safe[0] if safe else None, "sweep": sweep,
            "least_alike_paraphrases": _hardest(rows, True), "most_alike_different": _hardest(rows, False)}


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def report(res: dict[str, Any]) -> str:
    langs = list(res["counts"])
    lines = [f"cache eval: {res['data']}  ({res['pairs']} pairs; embedding model {res['embedding_model']})",
             "  ".join(f"{lang}: {c['same']} paraphrases, {c['different']} different" for lang, c in res["counts"].items()),
             f"exact after normalising: {res['exact']['same']} paraphrases, {res['exact']['different']} different", ""]
    head = f"{'threshold':>10} {'hit':>7} {'wrong':>7}" + "".join(f" {'hit ' + lg:>8} {'wrong ' + lg:>9}" for lg in langs)
    lines += [head, "-" * len(head)]
    for s in res["sweep"]:
        mark = " *" if s["threshold"] == res["default"] else "  "
        cells = "".join(f" {_pct(s['by_lang'][lg]['hit_rate']):>8} {_pct(s['by_lang'][lg]['wrong_hit_rate']):>9}"
                        for lg in langs)
        lines.append(f"{s['threshold']:>8.3f}{mark} {_pct(s['hit_rate']):>7} {_pct(s['wrong_hit_rate']):>7}{cells}")
    lines.append(f"* the default (cache.threshold {res['default']}): hit {_pct(res['hit_rate'])} of paraphrases, "
                 f"wrong hit {_pct(res['wrong_hit_rate'])} of different questions")
    low = res["lowest_safe"]
    lines.append(f"lowest threshold with at most {res['max_wrong']:.0%} wrong hits overall and in every language: "
                 + (f"{low['threshold']} (hit {_pct(low['hit_rate'])}, wrong {_pct(low['wrong_hit_rate'])})"
                    if low else "none in the sweep"))
    return "\n".join(lines)


Job = Callable[[Deployment], Awaitable[dict[str, Any]]]


def job(data: str | Path, thresholds: tuple[float, ...], progress: bool, max_wrong: float) -> Job:
    """The eval as a job for ``run_on_deployment``."""
    return lambda d: evaluate(d, data, thresholds, progress, max_wrong)
