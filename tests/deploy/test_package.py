"""The package installs: a wheel built from this tree, installed (not editable) into a fresh
virtualenv, migrates PostgreSQL and serves, run from a folder outside the repo.

The fresh virtualenv reuses the dev venv's dependencies through a .pth line naming the dev
venv's site-packages. Python adds such a folder to sys.path without reading the .pth files in
it, so the editable install of this project (a .pth hook there) does not come along: the only
copy of our packages that the new interpreter can import is the one the wheel put in it, which
`test_the_installed_wheel_migrates_and_serves` checks before anything else.
"""

import json
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest
from alembic.config import Config

from shared.migrations import script_location
from tests.support.processes import ROOT, ServiceProcess, run_module

PACKAGES = ("shared", "order_service", "payment_service", "alipay_sandbox")
# What a wheel build does not need; the rest of the tree is copied, so the build never writes
# build/ or *.egg-info into the repo.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "var", "test-artifacts", "build", "*.egg-info", "__pycache__", ".*cache"
)


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_folder_of_code_and_of_the_storefront_is_a_listed_package():
    """pyproject.toml lists its packages (package-dir maps migrations/ and web/ into them): a
    folder left off that list would be missing from the wheel, and only from the wheel."""
    tool = _pyproject()["tool"]["setuptools"]
    listed = set(tool["packages"])
    mapping = tool["package-dir"]
    expected = set()
    roots = {name: ROOT / name for name in PACKAGES}
    roots.update({package: ROOT / folder for package, folder in mapping.items()})
    for package, folder in roots.items():
        for directory in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
            if directory.name == "__pycache__" or not any(
                f.suffix in (".py", ".html", ".css", ".js") for f in directory.iterdir()
            ):
                continue
            relative = directory.relative_to(folder).parts
            expected.add(".".join([package, *relative]))
    assert expected - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - expected == set(), "these listed packages are not in the tree"


@pytest.mark.parametrize("section", ["order", "payment"])
def test_alembic_ini_names_the_folders_the_migrate_commands_use(section):
    """Developers' `alembic --name ...` and `python -m ... migrate` run the same scripts."""
    ini = Config(str(ROOT / "alembic.ini"), ini_section=section)
    folder = Path(ini.get_section_option(section, "script_location"))
    assert folder.resolve() == script_location(section).resolve()


def _build_wheel(workdir: Path) -> Path:
    source = workdir / "source"
    shutil.copytree(ROOT, source, ignore=NOT_COPIED)
    dist = workdir / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["--wheel-dir", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("alipay_shop_backend-*.whl")
    return wheel


def _fresh_venv(workdir: Path, wheel: Path) -> Path:
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Installed before the dev venv is made visible, so pip sees an empty environment.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
        + ["--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "dev-venv-dependencies.pth").write_text("\n".join(site.getsitepackages()))
    return python


def _assert_only_the_wheel_is_importable(
    python: Path, venv: Path, cwd: Path, env: dict[str, str]
) -> None:
    code = (
        "import json, sys, importlib\n"
        f"mods = {list(PACKAGES) + ['order_service.main', 'order_service.migrations']!r}\n"
        "print(json.dumps({'files': {m: importlib.import_module(m).__file__ for m in mods},"
        " 'path': sys.path}))"
    )
    out = subprocess.run(
        [str(python), "-c", code], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    where = json.loads(out.stdout)
    for module, file in where["files"].items():
        assert Path(file).is_relative_to(venv), f"{module} came from {file}, not the wheel"
    assert not any(p and Path(p).resolve() == ROOT.resolve() for p in where["path"])


@pytest.mark.package
async def test_the_installed_wheel_migrates_and_serves(pg_databases, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("wheel")
    assert not workdir.resolve().is_relative_to(ROOT.resolve())
    wheel = _build_wheel(workdir)
    python = _fresh_venv(workdir, wheel)
    venv = python.parent.parent
    run_dir = workdir / "run"  # outside the repo, with no .env
    run_dir.mkdir()
    keys = workdir / "keys"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _assert_only_the_wheel_is_importable(python, venv, run_dir, env)

    env.update(
        {
            "APP_ENV": "test",
            "SERVICE_AUTH_SECRET": "s" * 40,
            "ORDER_JWT_SECRET": "j" * 40,
            "ORDER_DATABASE_URL": await pg_databases.create("wheel_order"),
            "ORDER_REDIS_URL": "memory://",
            "PAYMENT_DATABASE_URL": await pg_databases.create("wheel_payment"),
            "ALIPAY_APP_ID": "2021000000000001",
            "ALIPAY_APP_PRIVATE_KEY": str(keys / "app" / "app_private_key.pem"),
            "ALIPAY_PUBLIC_KEY": str(keys / "sandbox" / "app_public_key.pem"),
            "SANDBOX_APP_ID": "2021000000000001",
            "SANDBOX_PRIVATE_KEY": str(keys / "sandbox" / "app_private_key.pem"),
            "SANDBOX_APP_PUBLIC_KEY": str(keys / "app" / "app_public_key.pem"),
        }
    )

    def run(*args: str) -> str:
        return run_module(*args, env=env, python=str(python), cwd=run_dir)

    for pair in ("app", "sandbox"):
        run("payment_service", "keygen", str(keys / pair))
    assert "migrated" in run("order_service", "migrate")
    assert "migrated" in run("payment_service", "migrate")
    catalog = run_dir / "catalog.json"
    catalog.write_text(json.dumps([{"name": "Wheel tea", "price": "9.90", "stock": 3}]))
    run("order_service", "load-catalog", str(catalog))

    services = {
        name: ServiceProcess(app, env, f"wheel-{name}", python=str(python), cwd=run_dir)
        for name, app in (
            ("order", "order_service.main:app"),
            ("payment", "payment_service.main:app"),
            ("sandbox", "alipay_sandbox.main:app"),
        )
    }
    try:
        for service in services.values():
            service.start()
        async with httpx.AsyncClient(timeout=10) as http:
            for name, service in services.items():
                ready = await http.get(f"{service.url}/readyz")
                assert ready.status_code == 200, (name, ready.text, service.tail())
            order = services["order"].url
            page = await http.get(f"{order}/")
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert page.text == (ROOT / "web" / "index.html").read_text()
            script = await http.get(f"{order}/js/app.js")
            assert script.status_code == 200
            assert script.text == (ROOT / "web" / "js" / "app.js").read_text()
            admin = await http.get(f"{order}/admin/")  # the back office ships too
            assert admin.status_code == 200
            assert admin.text == (ROOT / "web" / "admin" / "index.html").read_text()
            admin_script = await http.get(f"{order}/admin/js/app.js")
            assert admin_script.text == (ROOT / "web" / "admin" / "js" / "app.js").read_text()
            docs = await http.get(f"{order}/docs")  # Swagger UI's files come with the install
            assert docs.status_code == 200
            (bundle,) = re.findall(r"src=['\"](/[^'\"]+\.js)['\"]", docs.text)
            assert (await http.get(f"{order}{bundle}")).status_code == 200
            skus = (await http.get(f"{order}/api/skus")).json()
            assert [s["name"] for s in skus["items"]] == ["Wheel tea"]
    finally:
        for service in services.values():
            service.stop()
