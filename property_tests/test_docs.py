"""The docs that ship with the code: the command-line contract (verify/cli/README.md,
named by ``verify --help`` and installed as package data) and the proof's mathematics
(lemmas/README.md), each checked against the code it describes."""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

from verify.cli import COMMANDS, CONTRACT, build_parser, main

ROOT = Path(__file__).resolve().parents[1]
CLI_README = ROOT / "verify" / "cli" / "README.md"
LEMMAS_README = ROOT / "lemmas" / "README.md"


def test_help_ends_with_the_installed_contract(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(CONTRACT)
    assert Path(CONTRACT) == CLI_README and CLI_README.is_file()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "cli/README.md" in data["tool"]["setuptools"]["package-data"]["verify"]


def test_contract_lists_every_command_and_its_flags():
    text = CLI_README.read_text(encoding="utf-8")
    parser = build_parser(None)
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in COMMANDS:
        assert f"`verify {name}" in text, name
        for action in sub.choices[name]._actions:
            longs = [o for o in action.option_strings if o.startswith("--")]
            if longs and longs[0] != "--help" and longs[0] not in ("--lr", "--noise",
                                                                  "--iterations",
                                                                  "--success-tol",
                                                                  "--dtype", "--negation",
                                                                  "--grid", "--no-progress"):
                assert longs[0] in text, (name, longs[0])


def test_contract_names_every_key_of_check_json():
    from verify.registry import run_check

    text = CLI_README.read_text(encoding="utf-8")
    res = run_check("permutation", "paper-fig4", draws=1).to_json()
    for key in res:
        assert f"`{key}`" in text, key
    for key in res["criteria"][0]:
        assert f"`{key}`" in text, key
    for word in ("holds", "fails", "uninformative", "not applicable"):
        assert f"**{word}**" in text


def test_lemmas_readme_follows_the_proof_and_its_numbers_are_the_codes():
    import lemmas
    from verify.formulas import angle_map_iterates, rho

    text = LEMMAS_README.read_text(encoding="utf-8")
    where = [text.index(f"`{m}.py`") for m in lemmas.PROOF]
    assert where == sorted(where)  # one section per module, in the proof's order
    for d, shown in ((2, "0.318310"), (3, "0.493731"), (4, "0.604826"), (5, "0.680954"),
                     (6, "0.735946")):
        assert f"{rho(d):.6f}" == shown and shown in text
    assert abs(rho(2) - 1 / math.pi) < 1e-15 and "ρ₂ = 1/π" in text
    for i, shown in ((1, "1.5708"), (2, "1.2469"), (3, "1.0544"), (4, "0.9212")):
        assert f"{angle_map_iterates(math.pi, i + 1)[-1]:.4f}" == shown
        assert f"= {shown}" in text
    from lemmas.concentration import eps_bound

    assert f"ε(64, 4) = {eps_bound(64, 4):.3f}" in text
    # the document cites only files of the repository
    for link in re.findall(r"\]\(([^)]+)\)", text):
        assert (LEMMAS_README.parent / link).exists(), link
    assert "../" not in text and "shared" not in text


def test_docs_cite_nothing_outside_the_repository():
    for path in (CLI_README, LEMMAS_README):
        text = path.read_text(encoding="utf-8")
        for outside in ("CLI" ".md", "MATH" ".md", "shared" "/"):  # split: cite none here
            assert outside not in text
