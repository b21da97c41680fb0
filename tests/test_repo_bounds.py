"""The suite and the benchmarks stand alone: nothing reads beside the repository."""

from __future__ import annotations

import re

import pytest

from . import repo_bounds

ROOT = repo_bounds.ROOT
# Ways a script could name a place beside the repository.
ESCAPES = re.compile(r"\.\./|parents\[[2-9]\]|ROOT\.parent|\.parent\.parent\.parent")


def test_a_file_opened_beside_the_repository_is_recorded():
    sibling = ROOT.parent / "no-such-sibling-checkout" / "vectors.json"
    before = len(repo_bounds.outside)
    with pytest.raises(FileNotFoundError):
        sibling.read_text()
    try:
        assert repo_bounds.outside[before:] == [str(sibling)]
    finally:
        del repo_bounds.outside[before:]


def test_files_inside_the_repository_or_elsewhere_are_not(tmp_path):
    assert not repo_bounds.escapes(str(ROOT / "tests" / "data" / "wire_vectors.json"))
    assert not repo_bounds.escapes(str(tmp_path / "x"))
    assert repo_bounds.escapes(str(ROOT.parent / "shared" / "protocols" / "x.json"))
    assert repo_bounds.escapes(str(ROOT) + "-other/x")  # a sibling whose name starts alike


@pytest.mark.parametrize("folder", ["bench", "scripts", ".ci", "build"])
def test_no_script_names_a_path_beside_the_repository(folder):
    """The benchmarks and scripts run outside pytest, so the audit hook cannot see them."""
    found = []
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix not in {".py", ".sh", ""} or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if ESCAPES.search(line) and "cd \"$(dirname" not in line:
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
