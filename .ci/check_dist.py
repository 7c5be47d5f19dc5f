"""Check the built sdist and wheel: metadata a package index accepts, dependency ranges (no exact
pins), the console script, and the presets shipped as package data.  usage: check_dist.py DIST_DIR"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement


def fail(message: str) -> None:
    sys.exit(f"check_dist: {message}")


def main(dist: Path) -> None:
    wheels, sdists = sorted(dist.glob("llmrl-*.whl")), sorted(dist.glob("llmrl-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        fail(f"expected one wheel and one sdist in {dist}, found {[p.name for p in dist.iterdir()]}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(wheel.read(metadata_name).decode())
        entry_points = wheel.read(metadata_name.replace("METADATA", "entry_points.txt")).decode()
    for field in ("Name", "Version", "Summary", "Requires-Python", "License-Expression"):
        if not metadata.get(field):
            fail(f"wheel metadata lacks {field}")
    if metadata.get_content_type() != "text/plain" and not metadata.get_payload().strip():
        fail("wheel metadata has no long description (the README)")
    requirements = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    pinned = [str(r) for r in requirements if any(s.operator in ("==", "===") for s in r.specifier)]
    if pinned:
        fail(f"a library must not pin exact versions: {pinned}")
    unbounded = [r.name for r in requirements if not r.marker and not r.specifier]
    if unbounded:
        fail(f"runtime dependencies without a lower bound: {unbounded}")
    if "llmrl = llmrl.cli:main" not in entry_points:
        fail("the `llmrl` console script is missing from entry_points.txt")
    presets = [n for n in names if n.startswith("llmrl/presets/") and n.endswith(".yaml")]
    if not presets:
        fail("the wheel ships no presets (llmrl/presets/*.yaml)")
    with tarfile.open(sdists[0]) as sdist:
        sdist_presets = [n for n in sdist.getnames() if "/src/llmrl/presets/" in n and n.endswith(".yaml")]
    if len(sdist_presets) != len(presets):
        fail(f"the sdist has {len(sdist_presets)} presets, the wheel {len(presets)}")
    print(f"check_dist: {wheels[0].name} and {sdists[0].name}: metadata ok, {len(requirements)} ranged "
          f"dependencies, Requires-Python {metadata['Requires-Python']}, {len(presets)} presets")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
