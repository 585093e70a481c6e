"""The process-wide thread settings that keep local engines fast."""

from __future__ import annotations


def test_local_engines_get_numpy_s_blas_down_to_one_thread() -> None:
    from threadpoolctl import threadpool_info

    from plusn.fleet.threads import one_blas_thread

    assert one_blas_thread()
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert blas and all(p["num_threads"] == 1 for p in blas)
