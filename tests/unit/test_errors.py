from __future__ import annotations

from plusn.errors import ConfigError, ModelNotFound, Overloaded, RateLimited


def test_envelope_has_openai_shape() -> None:
    e = ModelNotFound("no such model", param="model")
    assert e.status == 404
    assert e.envelope() == {
        "error": {"message": "no such model", "type": "invalid_request_error", "param": "model", "code": "model_not_found"}
    }


def test_retry_errors_carry_retry_after() -> None:
    assert RateLimited("x", retry_after=2.6).headers["Retry-After"] == "3"
    assert Overloaded("x", retry_after=0.1).headers["Retry-After"] == "1"


def test_config_error_names_file_and_key() -> None:
    e = ConfigError("must be positive", file="a.yaml", key="models.m.max_concurrency")
    assert str(e) == "a.yaml: models.m.max_concurrency: must be positive"
