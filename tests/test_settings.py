"""crawler.settings: every option once, parsed from the environment or Scrapy settings; the
README's table, the runtime's defaults and the LLM variables kept equal to it."""

from __future__ import annotations

import dataclasses
import doctest
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from conftest import ROOT

import crawler.settings
from crawler.exceptions import BadInput
from crawler.settings import LAYOUT_THRESHOLD, LLM_VARIABLES, Settings


def test_the_module_examples_run() -> None:
    result = doctest.testmod(crawler.settings)
    assert result.attempted >= 3 and result.failed == 0


def test_defaults() -> None:
    s = Settings()
    assert (s.enabled, s.state_dir, s.schema) == (True, None, None)
    # the registry and fixtures live in the user's data folder, never in the current folder
    assert s.registry.endswith("/scrapec/registry") and os.path.isabs(s.registry)
    assert s.fixtures.endswith("/scrapec/fixtures") and os.path.isabs(s.fixtures)
    assert (s.regen_samples, s.layout_threshold, s.regen_lease, s.generator) == (
        3,
        0.5,
        300,
        "auto",
    )
    assert (s.workers, s.chromium, s.debug, s.extract_all) == (1, "/usr/bin/chromium", False, False)
    assert Settings.from_env({}) == s
    assert Settings.from_scrapy({}, environ={}) == s


def test_every_option_is_a_scrapec_name_with_a_doc() -> None:
    options = Settings.options()
    assert len(options) == len(dataclasses.fields(Settings)) >= 20
    for name, _default, doc, _env in options:
        assert re.fullmatch(r"SCRAPEC_[A-Z_]+", name) and doc.strip()
    names = {o[0] for o in options}
    assert {
        "SCRAPEC_REGEN_LEASE",
        "SCRAPEC_WORKERS",
        "SCRAPEC_CHROMIUM",
        "SCRAPEC_ENABLED",
    } <= names


def test_from_env_parses_each_type() -> None:
    s = Settings.from_env(
        {
            "SCRAPEC_REGISTRY": "/srv/reg",
            "SCRAPEC_REGEN_SAMPLES": " 5 ",
            "SCRAPEC_LAYOUT_THRESHOLD": "0.7",
            "SCRAPEC_BACKGROUND_REGENERATION": "off",
            "SCRAPEC_DEBUG": "1",
            "SCRAPEC_EXTRACT_ALL": "True",
            "SCRAPEC_GENERATOR": "induce",
            "SCRAPEC_SCHEMA": "",  # empty is unset
            "SCRAPEC_WORKERS": "4",
            "OTHER": "x",
        }
    )
    assert s.registry == "/srv/reg" and s.regen_samples == 5 and s.layout_threshold == 0.7
    assert s.background_regeneration is False and s.debug is True and s.extract_all is True
    assert s.generator == "induce" and s.schema is None and s.workers == 4


def test_from_scrapy_takes_python_values_and_command_line_strings() -> None:
    from scrapy.settings import Settings as ScrapySettings

    scrapy_settings = ScrapySettings(
        {
            "SCRAPEC_ENABLED": False,
            "SCRAPEC_REGEN_SAMPLES": 4,
            "SCRAPEC_REGISTRY": Path("/srv/reg"),
            "SCRAPEC_WORKERS": 9,  # environment only: a Scrapy setting does not count
        }
    )
    scrapy_settings.set("SCRAPEC_REGEN_LEASE", "30", priority="cmdline")  # -s
    s = Settings.from_scrapy(scrapy_settings, environ={"SCRAPEC_WORKERS": "2"})
    assert s.enabled is False and s.regen_samples == 4 and s.registry == "/srv/reg"
    assert s.regen_lease == 30.0 and s.workers == 2


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SCRAPEC_REGEN_SAMPLES", "x", "SCRAPEC_REGEN_SAMPLES='x': not an integer"),
        ("SCRAPEC_REGEN_SAMPLES", "2.5", "SCRAPEC_REGEN_SAMPLES='2.5': not an integer"),
        ("SCRAPEC_REGEN_SAMPLES", "0", "SCRAPEC_REGEN_SAMPLES='0': must be at least 1"),
        ("SCRAPEC_LAYOUT_THRESHOLD", "high", "SCRAPEC_LAYOUT_THRESHOLD='high': not a number"),
        ("SCRAPEC_LAYOUT_THRESHOLD", "1.5", "SCRAPEC_LAYOUT_THRESHOLD='1.5': must be at most 1"),
        ("SCRAPEC_REGEN_LEASE", "nan", "SCRAPEC_REGEN_LEASE='nan': not a finite number"),
        ("SCRAPEC_ENABLED", "maybe", "SCRAPEC_ENABLED='maybe': not a boolean"),
        ("SCRAPEC_GENERATOR", "gpt", "SCRAPEC_GENERATOR='gpt': not one of auto, repair, induce"),
        ("SCRAPEC_WORKERS", "-1", "SCRAPEC_WORKERS='-1': must be at least 1"),
        ("SCRAPEC_REGISTRY", "a\x00b", "SCRAPEC_REGISTRY='a\\x00b': holds a NUL character"),
    ],
)
def test_a_bad_value_names_the_setting_and_the_value(name: str, value: str, message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        Settings.from_env({name: value})
    if name != "SCRAPEC_WORKERS":  # the others are Scrapy settings too
        with pytest.raises(BadInput, match=re.escape(message)):
            Settings.from_scrapy({name: value}, environ={})


def test_bad_python_values_from_a_settings_module() -> None:
    with pytest.raises(BadInput, match=r"SCRAPEC_REGEN_SAMPLES=True: not an integer"):
        Settings.from_scrapy({"SCRAPEC_REGEN_SAMPLES": True}, environ={})
    with pytest.raises(BadInput, match=r"SCRAPEC_ENABLED=2: not a boolean"):
        Settings.from_scrapy({"SCRAPEC_ENABLED": 2}, environ={})
    with pytest.raises(BadInput, match=r"SCRAPEC_REGISTRY=\['a'\]: not a string"):
        Settings.from_scrapy({"SCRAPEC_REGISTRY": ["a"]}, environ={})


def test_replace_is_how_flags_override() -> None:
    base = Settings.from_env({"SCRAPEC_REGISTRY": "from-env", "SCRAPEC_FIXTURES": "fx"})
    s = base.replace(registry="from-flag", fixtures=None, regen_samples=7)
    assert (s.registry, s.fixtures, s.regen_samples) == ("from-flag", "fx", 7)
    assert base.registry == "from-env"  # frozen: a copy
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.registry = "x"  # type: ignore[misc]
    with pytest.raises(BadInput, match=r"'colour': not a scrapec setting"):
        base.replace(colour="red")
    with pytest.raises(BadInput, match=r"SCRAPEC_REGEN_SAMPLES=0: must be at least 1"):
        base.replace(regen_samples=0)


def test_runtime_defaults_are_the_settings_defaults() -> None:
    """RuntimeSettings (crawler.runtime) keeps its own defaults for callers without Settings:
    they may never drift from crawler.settings."""
    from crawler.crawl.glue import runtime_settings
    from crawler.registry import LAYOUT_THRESHOLD as ROUTING_THRESHOLD
    from crawler.runtime import RuntimeSettings

    assert runtime_settings(Settings()) == RuntimeSettings()
    defaults = Settings()
    runtime = RuntimeSettings()
    shared = {f.name for f in dataclasses.fields(RuntimeSettings)} & {
        f.name for f in dataclasses.fields(Settings)
    }
    assert {"regen_samples", "max_held", "layout_threshold", "generator"} <= shared
    for name in shared:
        assert getattr(runtime, name) == getattr(defaults, name), name
    assert runtime.lease_ttl == defaults.regen_lease
    assert ROUTING_THRESHOLD is LAYOUT_THRESHOLD == defaults.layout_threshold
    custom = runtime_settings(
        Settings.from_env({"SCRAPEC_MAX_HELD": "9", "SCRAPEC_REGEN_LEASE": "7"})
    )
    assert custom.max_held == 9 and custom.lease_ttl == 7.0


def _readme_table() -> dict[str, tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    rows: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        m = re.fullmatch(r"\| `(SCRAPEC_[A-Z_]+)` \| (`[^`]*`|—) \| (.+) \|", line.strip())
        if m:
            assert m[1] not in rows, f"{m[1]} twice in the README"
            rows[m[1]] = (m[2].strip("`"), m[3])
    return rows


def test_the_readme_table_is_the_settings() -> None:
    """Every option is in the README's table with its default and meaning; nothing else is."""
    table = _readme_table()
    options = {name: (default, doc, env) for name, default, doc, env in Settings.options()}
    assert sorted(table) == sorted(options)
    for name, (default, doc, env) in options.items():
        assert table[name][0] == default, name
        assert table[name][1] == ("*environment*: " if env else "") + doc, name


class _Recording(Mapping[str, str]):
    """An environment that remembers which variables were read."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def test_llm_variables_are_those_llmconfig_reads() -> None:
    from crawler.compiler.llm import LLMConfig

    environ = _Recording({"SCRAPEC_LLM_MODEL": "openai/test-model"})
    assert LLMConfig.from_env(environ) is not None
    assert {k for k in environ.read if k.startswith("SCRAPEC_")} == set(LLM_VARIABLES)
    assert not set(LLM_VARIABLES) & {o[0] for o in Settings.options()}


def test_the_cli_defaults_come_from_settings_and_flags_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawler.cli import build_parser, main

    defaults = Settings.from_env({"SCRAPEC_REGISTRY": str(tmp_path / "env-reg")})
    args = build_parser(defaults).parse_args(["test"])
    assert args.registry == str(tmp_path / "env-reg") and args.fixtures == Settings().fixtures
    args = build_parser(defaults).parse_args(["test", "--registry", "flag-reg"])
    assert args.registry == "flag-reg"
    assert build_parser().parse_args(["rollback", "a.test/b"]).registry == Settings().registry

    monkeypatch.setenv("SCRAPEC_REGISTRY", str(tmp_path / "missing"))
    assert main(["report", "--out", str(tmp_path / "rep")]) == 2
    assert f"{tmp_path / 'missing'}" in capsys.readouterr().err
    monkeypatch.setenv("SCRAPEC_REGEN_SAMPLES", "x")
    assert main(["check", str(tmp_path / "p.py")]) == 2
    assert "SCRAPEC_REGEN_SAMPLES='x': not an integer" in capsys.readouterr().err


def test_the_api_reads_the_registry_variable_when_called(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crawler.extract import Extractor

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("SCRAPEC_REGISTRY", raising=False)
    assert Extractor(in_process=True).registry.root == tmp_path / "data/scrapec/registry"
    monkeypatch.setenv("SCRAPEC_REGISTRY", str(tmp_path / "reg"))
    assert Extractor(in_process=True).registry.root == tmp_path / "reg"
    assert Extractor(tmp_path / "other", in_process=True).registry.root == tmp_path / "other"
