"""Third-party browser code, fetched from the npm registry at install time, never from a CDN.

`python -m web.assets` downloads each pinned package's tarball, checks it against the
integrity hash npm publishes for it, and unpacks the files the pages use into
`web/static/vendor/` (not kept in git). `make` runs it; it does nothing when the files are
already there.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

VENDOR = Path(__file__).parent / "static" / "vendor"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # npm's "dist.integrity": sha512 of the tarball, base64
    files: tuple[str, ...]  # paths inside the tarball's package/ directory

    @property
    def url(self) -> str:
        return f"https://registry.npmjs.org/{self.name}/-/{self.name}-{self.version}.tgz"

    @property
    def directory(self) -> Path:
        return VENDOR / f"{self.name}-{self.version}"


PACKAGES = (
    Package(
        "leaflet",
        "1.9.4",
        "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
        (
            "dist/leaflet.js",
            "dist/leaflet.css",
            "dist/images/marker-icon.png",
            "dist/images/marker-icon-2x.png",
            "dist/images/marker-shadow.png",
            "dist/images/layers.png",
            "dist/images/layers-2x.png",
            "LICENSE",
        ),
    ),
    Package(
        "leaflet.markercluster",
        "1.5.3",
        "sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA==",
        (
            "dist/leaflet.markercluster.js",
            "dist/MarkerCluster.css",
            "dist/MarkerCluster.Default.css",
            "MIT-LICENCE.txt",
        ),
    ),
)


def fetch(package: Package) -> None:
    """Download, check and unpack one package (unless it is already unpacked)."""
    if all((package.directory / f).is_file() for f in package.files):
        return
    with urllib.request.urlopen(package.url, timeout=60) as answer:  # noqa: S310 - fixed https URL
        tarball = answer.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != package.integrity:
        raise RuntimeError(f"{package.url} does not match its published integrity hash")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for name in package.files:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise RuntimeError(f"{package.url} has no {name}")
            target = package.directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(member.read())


def main() -> int:
    for package in PACKAGES:
        fetch(package)
        print(f"assets: {package.name} {package.version} in {package.directory}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
