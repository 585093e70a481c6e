"""Keep numpy's BLAS out of the way of the local engines.

OpenBLAS, which numpy uses for matrix products, starts a worker per core and leaves them
spinning for a while after each product. On a small CPU they then compete with the threads of
the embedding engine and llama.cpp: measured here on 2 cores, an embedding that takes 19 ms
alone took 43 ms right after a 5,000 × 384 product. plusn's own vector maths (intent scores,
dense retrieval, the safety bank) is small enough for one thread.
"""

from __future__ import annotations


def one_blas_thread() -> bool:
    """Limit BLAS to one thread for this process; False when threadpoolctl is not installed.
    Not cached: a library loaded since the last call (scipy's BLAS, when routes are fitted)
    starts with a thread per core again."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a core dependency
        return False
    threadpool_limits(limits=1, user_api="blas")
    return True
