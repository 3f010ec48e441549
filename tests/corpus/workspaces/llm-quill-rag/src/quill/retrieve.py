"""Hybrid retrieval against Qdrant, then Cohere rerank."""

from __future__ import annotations

import os

import cohere
from qdrant_client import QdrantClient

from .llm import embed

_qdrant = QdrantClient(url=os.environ.get("QDRANT_URL", "http://localhost:6333"),
                       api_key=os.environ.get("QDRANT_API_KEY") or None)
_cohere = cohere.ClientV2()  # reads CO_API_KEY / COHERE_API_KEY


def search(question: str, *, office: str, top_k: int = 24, top_n: int = 6) -> list[dict]:
    vector = embed([question])[0]
    hits = _qdrant.query_points(
        collection_name="handbook_v4",
        query=vector,
        limit=top_k,
        query_filter={"should": [{"key": "office", "match": {"value": office}}]},
        with_payload=True,
    ).points
    docs = [h.payload["text"] for h in hits]
    if not docs:
        return []
    ranked = _cohere.rerank(model="rerank-english-v3.0", query=question, documents=docs, top_n=top_n)
    return [hits[r.index].payload | {"score": r.relevance_score} for r in ranked.results]
