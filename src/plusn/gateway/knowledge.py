"""Knowledge-base endpoints: search, ingest, delete, list.

    GET    /v1/kb                          the knowledge bases and their sizes
    POST   /v1/kb/{kb}/search              {"query", "k"?, "mode"?, "filters"?}
    POST   /v1/kb/{kb}/documents           {"documents": [{"source", "text" | "content_base64", "title"?, "meta"?}]}
    DELETE /v1/kb/{kb}/documents?source=…  remove one document

A key limited to certain models reaches a knowledge base only if its list names ``kb:<name>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import PurePosixPath
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import JSONResponse

from ..errors import InvalidRequest, NotFound
from ..knowledge.knowledge_base import IngestDocument
from ..knowledge.readers import SUFFIXES, Section, read
from .auth import Principal, require_scope
from .runtime import principal, record, runtime
from .serving import plusn_block, until_disconnect

router = APIRouter()


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=4000)
    k: int = Field(5, ge=1, le=50)
    mode: Literal["adaptive", "rrf", "bm25", "dense"] | None = None
    filters: dict[str, str | int | float | bool | list[str | int | float | bool]] | None = None


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=1000)
    title: str | None = None
    text: str | None = None
    content_base64: str | None = None  # a file (txt, md, html, pdf, docx), read by the suffix of `source`
    meta: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _access_is_names(self) -> DocumentIn:
        if "access" in self.meta and not isinstance(self.meta["access"], str):
            raise ValueError("meta.access is a comma-separated list of names: team:<team>, key:<key name>")
        return self

    @model_validator(mode="after")
    def _one_body(self) -> DocumentIn:
        if (self.text is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of 'text' or 'content_base64'")
        return self


class IngestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentIn] = Field(min_length=1, max_length=1000)


def _record(doc: DocumentIn, index: int) -> IngestDocument:
    if doc.text is not None:
        data = doc.text.encode("utf-8")
        return IngestDocument(doc.source, doc.title or PurePosixPath(doc.source).stem, [Section([], doc.text)],
                      hashlib.sha256(data).hexdigest(), dict(doc.meta))
    try:
        data = base64.b64decode(doc.content_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("content_base64 is not valid base64", param=f"documents[{index}].content_base64") from None
    path = PurePosixPath(doc.source)
    if path.suffix.lower() not in SUFFIXES:
        raise InvalidRequest(f"cannot tell the file type of {doc.source!r}; name it with one of {', '.join(SUFFIXES)}",
                             param=f"documents[{index}].source")
    parsed = read(path, data)
    return IngestDocument(doc.source, doc.title or parsed.title, parsed.sections, hashlib.sha256(data).hexdigest(),
                  {**doc.meta, "type": path.suffix.lower().lstrip(".")})


def _check(who: Principal, request: Request, kb: str) -> None:
    record(request).asked_for(f"kb:{kb}")
    if kb not in runtime(request).settings.knowledge:
        known = ", ".join(runtime(request).settings.knowledge) or "(none configured)"
        raise NotFound(f"knowledge base {kb!r} not found; knowledge bases: {known}", param="kb")
    who.check_model(f"kb:{kb}")


@router.get("/v1/kb")
async def list_kbs(request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    rt = runtime(request)
    data = []
    for name, spec in rt.settings.knowledge.items():
        if who.models and f"kb:{name}" not in who.models:
            continue
        kb = await rt.knowledge.get(name)
        # Counts of what this caller may read: a document another team's key may not see is
        # not counted for it, nor named.
        data.append({"id": name, "object": "knowledge_base", "description": spec.description,
                     **await kb.counts(who.viewer), "fusion": kb.fusion_params.label})
    return JSONResponse({"object": "list", "data": data})


@router.post("/v1/kb/{kb}/search")
async def search(kb: str, body: SearchBody, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    _check(who, request, kb)
    base = await runtime(request).knowledge.get(kb)
    filters: dict[str, Any] | None = body.filters
    hits = await until_disconnect(request, base.search(body.query, k=body.k, mode=body.mode, filters=filters,
                                                       viewer=who.viewer))
    rec = record(request)
    rec.charge(base.embedder.name, 0, 0, 0.0)  # the query's embedding; its tokens are not counted
    return JSONResponse({"object": "list", "kb": kb, "data": [h.citation(i, 400) | {"text": h.text, "scores": h.scores}
                                                           for i, h in enumerate(hits, 1)],
                         "plusn": plusn_block(rec)})


@router.post("/v1/kb/{kb}/documents")
async def ingest(kb: str, body: IngestBody, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    _check(who, request, kb)
    require_scope(who, "write")
    records = [_record(d, i) for i, d in enumerate(body.documents)]
    base = await runtime(request).knowledge.get(kb)
    # Not raced against a disconnect: an ingest that was started finishes, document by document.
    report = await base.ingest(records)
    rec = record(request)
    rec.charge(base.embedder.name, 0, 0, 0.0)  # the passages' embeddings; their tokens are not counted
    return JSONResponse({"object": "kb.ingest", "kb": kb, **report.as_dict(), "plusn": plusn_block(rec)})


@router.delete("/v1/kb/{kb}/documents")
async def delete(kb: str, source: str, request: Request, who: Principal = Depends(principal)) -> JSONResponse:
    _check(who, request, kb)
    require_scope(who, "write")
    base = await runtime(request).knowledge.get(kb)
    if not base.store.delete([source]):
        raise NotFound(f"no document {source!r} in knowledge base {kb!r}", param="source")
    return JSONResponse({"object": "kb.document.deleted", "kb": kb, "source": source, "deleted": True})
