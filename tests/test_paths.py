"""No path leaves the registry or the fixtures folder: ``..`` and absolute ``--case`` names, a
template or site folder that is a symlink pointing outside the registry, a file of a template
folder linked outside, and a (dangling) lock symlink are refused with one line, and nothing is
written outside."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import product_page, run_cli, write_fixtures

from crawler.compiler import compile_template
from crawler.exceptions import BadInput, RegistryError
from crawler.registry import Registry, check_template_id

T = "shop.test/product"
URL = "http://shop.test/p/5.html"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("built")
    write_fixtures(base / "fx", T, range(1, 4))
    compile_template(base / "fx", "product", base / "reg", generator="induce", progress=None)
    return base


@pytest.fixture
def world(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the compiled registry and fixtures, an ``outside`` folder, a page."""
    shutil.copytree(built / "reg", tmp_path / "reg")
    shutil.copytree(built / "fx", tmp_path / "fx")
    (tmp_path / "outside").mkdir()
    (tmp_path / "page.html").write_text(product_page(5), "utf-8")
    return tmp_path


def tree(folder: Path) -> list[str]:
    """Every path under ``folder`` (symlinks not followed)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


Proc = subprocess.CompletedProcess[str]


def one_error(proc: Proc, *names: str) -> str:
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    [line] = proc.stderr.splitlines()
    for name in names:
        assert name in line, line
    return line


def save(world: Path, *extra: str) -> Proc:
    proc: Proc = run_cli(
        "fixture",
        "save",
        str(world / "page.html"),
        "--url",
        URL,
        "--registry",
        str(world / "reg"),
        "--fixtures",
        str(world / "fx"),
        *extra,
        cwd=world,
    )
    return proc


@pytest.mark.parametrize("case", ["../..", "..", ".", "../../../outside/x", "a/b", ".hidden"])
def test_fixture_save_refuses_a_case_that_is_not_one_folder_name(world: Path, case: str) -> None:
    before = tree(world)
    one_error(save(world, "--template", T, "--case", case), repr(case))
    assert tree(world) == before


def test_fixture_save_refuses_an_absolute_case(world: Path) -> None:
    target = world / "outside" / "abs"
    one_error(save(world, "--template", T, "--case", str(target)), repr(str(target)))
    assert not target.exists() and tree(world / "outside") == []


@pytest.mark.parametrize("template", ["../../outside", "/abs/olute", "shop.test/../x", "a/b/c"])
def test_fixture_save_refuses_a_template_that_would_leave_the_folder(
    world: Path, template: str
) -> None:
    before = tree(world)
    one_error(save(world, "--template", template, "--case", "x"), repr(template))
    assert tree(world) == before


def test_fixture_save_refuses_a_fixtures_folder_linked_outside(world: Path) -> None:
    shutil.rmtree(world / "fx" / "shop.test")
    (world / "fx" / "shop.test").symlink_to(world / "outside")
    one_error(save(world, "--template", T, "--case", "x"), "outside the fixtures folder")
    assert tree(world / "outside") == []


def test_fixture_save_default_case_stays_inside(world: Path) -> None:
    proc = save(world, "--template", T)
    assert proc.returncode == 0, proc.stderr
    assert (world / "fx" / T / "case-04" / "page.html").is_file()


def _link_template_outside(world: Path, level: str) -> Path:
    """Move the template (or its whole site) outside the registry and link it back."""
    if level == "template":
        moved = world / "outside" / "product"
        shutil.move(world / "reg" / T, moved)
        (world / "reg" / T).symlink_to(moved)
    else:
        moved = world / "outside" / "shop.test"
        shutil.move(world / "reg" / "shop.test", moved)
        (world / "reg" / "shop.test").symlink_to(moved)
    return moved


@pytest.mark.parametrize("level", ["template", "site"])
def test_template_folder_linked_outside_is_refused(world: Path, level: str) -> None:
    _link_template_outside(world, level)
    before = tree(world / "outside")
    reg = ["--registry", str(world / "reg")]
    source = world / "v1.py"
    shutil.copy(world / "outside" / ("product" if level == "template" else T) / "v1.py", source)
    for argv in (
        ["rollback", T, *reg],
        ["extract", "--template", T, "--url", URL, str(world / "page.html"), *reg],
        ["extract", "--url", URL, str(world / "page.html"), *reg],
        ["publish", str(source), "--template", T, "--schema", "product", "--fixtures"]
        + [str(world / "fx"), *reg],
        ["compile", str(world / "fx"), "--schema", "product", "--quiet", *reg],
    ):
        one_error(run_cli(*argv, cwd=world), "outside the registry")
    assert tree(world / "outside") == before  # no new version, lock or schema written there


def test_file_of_a_template_linked_outside_is_refused(world: Path) -> None:
    secret = world / "outside" / "secret.py"
    secret.write_text("SECRET = 1\n")
    (world / "reg" / T / "v1.py").unlink()
    (world / "reg" / T / "v1.py").symlink_to(secret)
    proc = run_cli(
        "extract", "--url", URL, str(world / "page.html"), "--registry", str(world / "reg")
    )
    one_error(proc, "v1.py", "outside the registry")


@pytest.mark.parametrize("lock", [".publish.lock", ".regenerate.lock"])
def test_dangling_lock_symlink_is_refused_and_nothing_is_created(world: Path, lock: str) -> None:
    target = world / "outside" / "pwned.lock"
    (world / "reg" / T / lock).unlink(missing_ok=True)
    (world / "reg" / T / lock).symlink_to(target)
    registry = Registry(world / "reg")
    if lock == ".publish.lock":
        one_error(run_cli("rollback", T, "--registry", str(world / "reg"), cwd=world), lock)
    with pytest.raises(RegistryError, match="symlink"):
        with registry.lock(T, lock.split(".")[1]):
            pass
    assert not target.exists() and not target.is_symlink()


def test_lock_symlink_to_an_existing_file_is_refused(world: Path) -> None:
    target = world / "outside" / "victim"
    target.write_text("keep")
    (world / "reg" / T / ".publish.lock").unlink(missing_ok=True)
    (world / "reg" / T / ".publish.lock").symlink_to(target)
    one_error(run_cli("rollback", T, "--registry", str(world / "reg"), cwd=world), ".publish.lock")
    assert target.read_text() == "keep"


@pytest.mark.parametrize(
    "template",
    ["../x", "a/..", "/etc/passwd", "a/b\n", "a\n/b", "./b", "a/.b", "a/b/c", "", "a/"],
)
def test_template_ids_that_are_not_two_folder_names_are_refused(template: str) -> None:
    with pytest.raises(BadInput, match="bad template id"):
        check_template_id(template)


def test_template_symlink_inside_the_registry_is_allowed(world: Path) -> None:
    """A link that stays inside the registry (an alias of a template) is not refused."""
    shutil.copytree(world / "reg" / "shop.test", world / "reg" / "real.site")
    shutil.rmtree(world / "reg" / "shop.test")
    (world / "reg" / "shop.test").symlink_to(world / "reg" / "real.site")
    assert Registry(world / "reg").folder(T) == world / "reg" / T
    assert Registry(world / "reg").info(T).active == 1
