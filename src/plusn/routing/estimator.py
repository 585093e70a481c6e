"""What a router knows before it calls anyone: each model's predicted chance of success on this
request, from the fitted predictor and, when it reads embeddings, the prompt's embedding."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import numpy as np

from ..fleet.backend import GenRequest, content_text
from .predict import Predictor, design

# A query embedding of one text. The embedder keeps recent queries, so a request the dispatcher
# (or the safety screen) already embedded is not embedded twice.
Embed = Callable[[str], Awaitable[list[float]]]


def prompt_of(req: GenRequest) -> str:
    """What routing looks at: the current user message plus the turn before it."""
    if req.kind == "completion":
        return req.prompt
    texts = [content_text(m.get("content")) for m in req.messages if m.get("role") in ("user", "assistant")]
    return "\n".join(texts[-3:])


class SuccessEstimator:
    """A fitted predictor and, when it reads embeddings, the embedder it needs."""

    def __init__(self, predictor: Predictor, embed: Embed | None) -> None:
        if predictor.embedding and embed is None:
            raise ValueError("the predictor reads the prompt's embedding, but no embedding model is configured")
        self.predictor = predictor
        self.embed = embed

    @property
    def models(self) -> list[str]:
        return self.predictor.models

    async def predict(self, req: GenRequest) -> np.ndarray:
        """Each model's P(success) for this request."""
        text = prompt_of(req)
        vectors = None
        if self.predictor.embedding and self.embed is not None:
            vectors = np.array([await self.embed(text)])
        return np.asarray(self.predictor.predict(design([text], vectors))[0])
