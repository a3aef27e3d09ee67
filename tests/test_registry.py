from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.exceptions import PolicyViolation, RegistryError
from crawler.parsing import Page
from crawler.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
T = "shop.test/product"


def parser_source(tag: str) -> str:
    return f'''"""test parser {tag}"""
from crawler.parsing import Page, text


def parse(page: Page) -> dict:
    return {{"name": text(page.css("h1")), "tag": {tag!r}}}
'''


def publish(reg: Registry, tag: str) -> int:
    return reg.publish(
        T, parser_source(tag), schema="product", generator="manual", reason=f"test {tag}"
    )


def test_publish_activate_rollback(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    assert publish(reg, "one") == 1
    assert publish(reg, "two") == 2
    assert reg.templates() == [T]
    assert reg.active(T).run(Page("<h1>x</h1>"))["tag"] == "two"
    info = json.loads((tmp_path / T / "parser.json").read_text())
    assert info["active"] == 2
    version = info["versions"]["2"]
    for key in (
        "generator",
        "created",
        "schema_hash",
        "source_hash",
        "layout",
        "fixtures_passed",
        "llm",
        "reason",
    ):
        assert key in version
    assert reg.rollback(T) == 1
    assert reg.active(T).run(Page("<h1>x</h1>"))["tag"] == "one"
    assert (tmp_path / T / "v2.py").exists(), "old versions stay for rollback"
    with pytest.raises(RegistryError, match="no version before v1"):
        reg.rollback(T)


def test_publish_refuses_unsafe_source(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    with pytest.raises(PolicyViolation):
        reg.publish(
            T,
            "import os\ndef parse(page):\n    return {}\n",
            schema="product",
            generator="manual",
            reason="x",
        )
    assert not (tmp_path / T / "parser.json").exists()


def test_corrupt_or_edited_registry_names_the_file(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    publish(reg, "one")
    (tmp_path / T / "v1.py").write_text(parser_source("edited"))
    with pytest.raises(RegistryError, match=r"v1\.py: source does not match"):
        Registry(tmp_path).active(T)
    (tmp_path / T / "parser.json").write_text("{not json")
    with pytest.raises(RegistryError, match=r"parser\.json: corrupt"):
        Registry(tmp_path).active(T)
    with pytest.raises(RegistryError, match="no such template"):
        Registry(tmp_path).active("other.test/x")


def test_loaded_parser_is_compiled_once(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    publish(reg, "one")
    assert reg.active(T) is reg.active(T)


def _edit_info(root: Path, **fields: object) -> Path:
    path = root / T / "parser.json"
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))
    return path


def test_a_corrupt_url_pattern_is_one_registry_error(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    publish(reg, "one")
    path = _edit_info(tmp_path, url_pattern="[unclosed\nx")
    with pytest.raises(RegistryError) as caught:
        Registry(tmp_path).route("http://shop.test/p/1", None)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: corrupt parser.json: url_pattern '[unclosed\\nx'")
    assert "unterminated character set" in message
    _edit_info(tmp_path, url_pattern="x" * 5000 + "(")
    with pytest.raises(RegistryError, match=r"url_pattern 'x{200}…' is not a regular"):
        Registry(tmp_path).route("http://shop.test/p/1", None)
    _edit_info(tmp_path, url_pattern=".*")  # a sound pattern routes as before
    assert Registry(tmp_path).route("http://shop.test/p/1", None).template == T


def test_registry_reads_are_bounded(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    publish(reg, "one")
    parser = tmp_path / T / "v1.py"
    parser.write_text(parser_source("one") + "#" * (4 * 2**20))
    with pytest.raises(RegistryError, match=r"v1\.py: .* larger than the 4 MiB limit"):
        Registry(tmp_path).active(T)
    with pytest.raises(RegistryError, match=r"v1\.py: .* larger than the 4 MiB limit"):
        Registry(tmp_path).source(T)
    parser.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(RegistryError, match=r"v1\.py: cannot read parser"):
        Registry(tmp_path).source(T)
    parser.unlink()
    os.mkfifo(parser)  # a FIFO is refused, not waited on
    fifo = r"v1\.py: (is a FIFO|not a regular file)"
    with pytest.raises(RegistryError, match=fifo):
        Registry(tmp_path).source(T)
    with pytest.raises(RegistryError, match=fifo):
        Registry(tmp_path).active_source(T)
    parser.unlink()
    info = tmp_path / T / "parser.json"
    info.write_text(json.dumps({"active": 1, "versions": {}, "pad": "x" * (16 * 2**20)}))
    with pytest.raises(RegistryError, match=r"parser\.json: .* larger than the 16 MiB limit"):
        Registry(tmp_path).info(T)
    info.unlink()
    os.mkfifo(info)
    with pytest.raises(RegistryError, match=r"parser\.json: (is a FIFO|not a regular file)"):
        Registry(tmp_path).info(T)


def test_a_version_file_never_leaves_the_template_folder(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    publish(reg, "one")
    (tmp_path / "outside.py").write_text(parser_source("outside"))
    data = json.loads((tmp_path / T / "parser.json").read_text())
    for name in ("../../outside.py", str(tmp_path / "outside.py"), "..", "a\0b"):
        data["versions"]["1"]["file"] = name
        (tmp_path / T / "parser.json").write_text(json.dumps(data))
        with pytest.raises(RegistryError, match="not one of the template folder: refused"):
            Registry(tmp_path).source(T)
        with pytest.raises(RegistryError, match="not one of the template folder: refused"):
            Registry(tmp_path).active_source(T)


def _publisher(root: str, tag: str, count: int) -> None:
    reg = Registry(root)
    for i in range(count):
        publish(reg, f"{tag}{i}")


def test_two_processes_never_interleave(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_publisher, args=(str(tmp_path), tag, 10)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    info = json.loads((tmp_path / T / "parser.json").read_text())
    assert sorted(int(v) for v in info["versions"]) == list(range(1, 21))
    assert info["active"] == 20
    Registry(tmp_path).active(T)


KILLER = """
import sys
from crawler.registry import Registry
reg = Registry(sys.argv[1])
i = 0
print("ready", flush=True)
while True:
    i += 1
    reg.publish("shop.test/product", SOURCE.replace("TAG", str(i)) + "#" + "x" * 20000 + "\\n",
                schema="product", generator="manual", reason="kill test")
"""


def test_sigkill_during_publish_leaves_a_loadable_version(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    publish(reg, "first")
    script = "SOURCE = " + repr(parser_source("TAG")) + "\n" + KILLER
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for round_ in range(25):
        proc = subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, env=env
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(0.01 + (round_ % 5) * 0.013)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        fresh = Registry(tmp_path)
        item = fresh.active(T).run(Page("<h1>ok</h1>"))
        assert item["name"] == "ok"
        leftovers = [p.name for p in (tmp_path / T).iterdir() if p.name.endswith(".tmp")]
        assert len(leftovers) <= 2  # at most the files the killed process was writing
    info = json.loads((tmp_path / T / "parser.json").read_text())
    assert info["active"] >= 2, "the killed publishers did publish between kills"
