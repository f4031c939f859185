"""The result cache (verify/cache.py): the key covers the sources, the configuration and
the task; a hit is the stored result, bit for bit; a damaged entry is recomputed, never
trusted; concurrent writers leave one whole entry; ``--cache`` / ``--no-cache``."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from verify import cache
from verify.cli import main
from verify.presets import get_preset
from verify.report.checks import CACHE_KIND, CheckTask, run_one, task_key
from verify.spec import NetworkSpec

ROOT = Path(__file__).resolve().parent.parent


def _copy_sources(dest: Path) -> list[Path]:
    """A copy of the hashed folders (verify/, lemmas/) under ``dest``, without caches."""
    roots = []
    for root in cache.source_roots():
        shutil.copytree(root, dest / root.name,
                        ignore=shutil.ignore_patterns(*cache.SKIP_DIRS, "*.pyc"))
        roots.append(dest / root.name)
    return roots


def _flip_last_byte(path: Path) -> bytes:
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    return data


# ------------------------------------------------------------------ the key
def test_source_hash_is_the_hash_of_the_trees_and_sees_every_byte(tmp_path):
    roots = _copy_sources(tmp_path)
    assert [r.name for r in roots] == ["verify", "lemmas"]
    base = cache.tree_hash(roots)
    assert base == cache.source_hash()  # the copy hashes as the originals: names are relative
    for changed in (tmp_path / "lemmas" / "permutation.py", tmp_path / "verify" / "runner.py",
                    next((tmp_path / "verify" / "data").iterdir())):
        original = _flip_last_byte(changed)
        assert cache.tree_hash(roots) != base, changed
        changed.write_bytes(original)
        assert cache.tree_hash(roots) == base
    (tmp_path / "lemmas" / "new_data.toml").write_text("x = 1\n")
    assert cache.tree_hash(roots) != base
    (tmp_path / "lemmas" / "new_data.toml").unlink()
    (tmp_path / "verify" / "__pycache__").mkdir(exist_ok=True)
    (tmp_path / "verify" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert cache.tree_hash(roots) == base  # compiled caches are not sources


def _cli_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m verify ARGS`` with ``folder``'s copy of the package first on the path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "verify", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_changed_lemma_file_misses_the_cache_end_to_end(tmp_path):
    """The real command on a copy of the sources: the second run is a hit; after one
    byte of the lemma's module changes, the same command recomputes."""
    src = tmp_path / "src"
    _copy_sources(src)
    store = tmp_path / "cache"
    args = ("check", "permutation", "--quick", "--json", "--cache", str(store))
    first = _cli_in(src, *args)
    assert first.returncode == 0, first.stderr
    assert "result from the cache" not in first.stderr
    second = _cli_in(src, *args)
    assert "result from the cache" in second.stderr
    assert json.loads(second.stdout) == json.loads(first.stdout)  # elapsed_s included
    lemma = src / "lemmas" / "permutation.py"
    lemma.write_text(lemma.read_text() + "\n# one more line\n")
    third = _cli_in(src, *args)
    assert third.returncode == 0, third.stderr
    assert "result from the cache" not in third.stderr
    assert len([p for p in (store / CACHE_KIND).rglob("*") if p.is_file()]) == 2


def test_every_field_of_the_task_and_the_configuration_changes_the_key():
    base = get_preset("theory-2layer")
    spec = base.spec
    layer = spec.layers[0]
    configs = [
        replace(base, name="renamed"),
        replace(base, description="another description"),
        replace(base, counterexample=not base.counterexample),
        base.with_weights("rademacher"),
        base.with_weights(base.weights.name, 0.5),
        replace(base, weights=replace(base.weights, stream=3)),
        base.with_mask("random", 0.5),
        base.with_mask("random", 0.25),
        base.with_spec(replace(spec, latent_channels=spec.latent_channels + 1)),
        base.with_spec(replace(spec, layers=(replace(layer, channels=layer.channels + 1),)
                               + spec.layers[1:])),
        base.with_spec(replace(spec, layers=(replace(layer, activation="leaky_relu",
                                                     slope=0.1),) + spec.layers[1:])),
        base.with_checks({"permutation": {"trials": 3}}),
    ]
    assert all(isinstance(c.spec, NetworkSpec) for c in configs)
    tasks = [CheckTask("permutation", "theory-2layer", 0, True, None, c) for c in configs]
    t0 = CheckTask("permutation", "theory-2layer", 0, True)
    tasks += [t0, replace(t0, seed=1), replace(t0, draws=3), replace(t0, quick=False),
              replace(t0, known_bad="a case"), replace(t0, lemma="descent"),
              replace(t0, preset="paper-fig4")]
    keys = [task_key(t) for t in tasks]
    assert None not in keys
    assert len(set(keys)) == len(keys)
    # the same task described again has the same key; a preset by name is its config
    assert task_key(CheckTask("permutation", "theory-2layer", 0, True)) == keys[-7]
    assert task_key(CheckTask("permutation", "theory-2layer", 0, True, None, base)) == keys[-7]
    assert task_key(replace(t0, known_bad="a case")) == keys[-3]


def test_what_the_key_cannot_cover_is_not_cached():
    from verify import registry

    import property_tests._fake_lemmas  # noqa: F401 - a check registered outside the sources

    assert task_key(CheckTask("fake-expansion", "theory-2layer", 0, True)) is None
    net = get_preset("theory-2layer").instantiate(0).network
    own = replace(get_preset("theory-2layer"), loader=lambda: net)  # weights of one's own
    assert task_key(CheckTask("permutation", "theory-2layer", 0, True, None, own)) is None
    assert task_key(CheckTask("trained-weights", "digits-glo", 0, True)) is not None
    derived = replace(get_preset("digits-glo"), name="derived")  # the shipped weights
    assert task_key(CheckTask("trained-weights", "derived", 0, True, None, derived)) is not None
    with registry.use(registry.Registry()):
        assert task_key(CheckTask("permutation", "theory-2layer", 0, True)) is None


# ------------------------------------------------------------------ the store
def test_a_damaged_entry_is_never_trusted(tmp_path):
    store = cache.Cache(tmp_path)
    key = "ab" + "0" * 62
    digest = store.put("x", key, {"value": list(range(100))})
    path = store.path("x", key)
    good = path.read_bytes()
    assert store.get("x", key) == ({"value": list(range(100))}, digest)
    damaged = [good[: len(good) // 2], good[:-1], good[:-1] + bytes([good[-1] ^ 1]),
               good.replace(b'"key": "ab', b'"key": "cd'), b"", b"not an entry at all"]
    for data in damaged:
        path.write_bytes(data)
        assert store.get("x", key) is None
    path.write_bytes(good)
    other = "cd" + "0" * 62  # a whole entry under another key's name
    store.path("x", other).parent.mkdir(parents=True)
    store.path("x", other).write_bytes(good)
    assert store.get("x", other) is None


class _Tripwire:
    """Unpickling it creates a file: the proof that a payload was unpickled."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_the_payload_is_checked_before_it_is_unpickled(tmp_path):
    store = cache.Cache(tmp_path / "c")
    key = "ef" + "1" * 62
    wire = tmp_path / "unpickled"
    store.put("x", key, _Tripwire(wire))
    path = store.path("x", key)
    data = path.read_bytes()
    path.write_bytes(data + b" ")  # a changed payload: its checksum no longer matches
    assert store.get("x", key) is None and not wire.exists()
    path.write_bytes(data)
    assert store.get("x", key) is not None and wire.exists()


def _writer(folder: str, key: str, who: int, rounds: int, go) -> None:
    store = cache.Cache(folder)
    go.wait()
    for _ in range(rounds):
        store.put("x", key, bytes([who]) * 3_000_000)


def test_two_processes_writing_one_entry_leave_a_whole_one(tmp_path):
    ctx = multiprocessing.get_context("fork")
    key = "12" + "3" * 62
    go = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), key, who, 15, go))
             for who in (1, 2)]
    for p in procs:
        p.start()
    store = cache.Cache(tmp_path)
    go.set()
    seen = set()
    while any(p.is_alive() for p in procs):
        hit = store.get("x", key)
        if hit is not None:  # a reader sees a whole entry of one writer, or none
            assert hit.value in (b"\1" * 3_000_000, b"\2" * 3_000_000)
            seen.add(hit.value[0])
    for p in procs:
        p.join()
        assert p.exitcode == 0
    final = store.get("x", key)
    assert final is not None and final.value[0] in (1, 2)
    assert sorted(f.name for f in store.path("x", key).parent.iterdir()) == [key]  # no temp


def test_an_unwritable_cache_warns_once_and_the_work_goes_on(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    store = cache.Cache(blocker / "cache")
    store.put("x", "aa" + "0" * 62, 1)
    store.put("x", "bb" + "0" * 62, 2)
    assert capsys.readouterr().err.count("cannot be written") == 1
    assert store.get("x", "aa" + "0" * 62) is None


def test_where_the_cache_lives(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV_DIR)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.default_folder() == tmp_path / "home" / ".cache" / "verify"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_folder() == tmp_path / "xdg" / "verify"
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "mine"))
    assert cache.default_folder() == tmp_path / "mine"
    assert cache.resolve(True) is None  # VERIFY_NO_CACHE (set for every test)
    monkeypatch.delenv(cache.ENV_OFF)
    assert cache.resolve(True) == cache.Cache(tmp_path / "mine")
    assert cache.resolve(None) is None and cache.resolve(False) is None
    assert cache.resolve(tmp_path / "x").folder == tmp_path / "x"


# ------------------------------------------------------------------ reuse
def test_a_damaged_result_is_recomputed_and_replaced(tmp_path):
    task = CheckTask("permutation", "theory-2layer", 0, True)
    first = run_one(task, cache=tmp_path)
    assert not first.cached and first.digest is not None
    again = run_one(task, cache=tmp_path)
    assert again.cached and again.digest == first.digest
    assert again.result.to_json() == first.result.to_json()
    path = cache.Cache(tmp_path).path(CACHE_KIND, task_key(task))
    path.write_bytes(path.read_bytes()[:-100])  # truncated
    third = run_one(task, cache=tmp_path)
    assert not third.cached  # recomputed ...
    assert cache.Cache(tmp_path).get(CACHE_KIND, task_key(task)) is not None  # ... replaced
    js, js3 = first.result.to_json(), third.result.to_json()
    js.pop("elapsed_s"), js3.pop("elapsed_s")
    assert js3 == js


def _results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


def test_a_report_from_the_cache_is_the_report_computed(tmp_path):
    from verify.report import build_report

    store = tmp_path / "cache"
    kw = dict(quick=True, checks=["permutation"], progress=False, jobs=1, cache=store)
    build_report(tmp_path / "a", **kw)
    build_report(tmp_path / "b", **kw)
    a, b = _results(tmp_path / "a"), _results(tmp_path / "b")
    assert a["results"] == b["results"] and a["power"] == b["power"]
    assert a["summary"] == b["summary"] and a["statements"] == b["statements"]
    n = len(a["provenance"]["timing"])
    assert a["provenance"]["cache"]["checks_cached"] == 0
    assert b["provenance"]["cache"]["checks_cached"] == n == b["provenance"]["cache"]["checks"]
    sets = b["provenance"]["cache"]["figure_sets"]
    assert sets > 0 and b["provenance"]["cache"]["figures_cached"] == sets
    assert all(t["cached"] for t in b["provenance"]["timing"])
    assert not any(t["cached"] for t in a["provenance"]["timing"])
    figs = sorted(p.name for p in (tmp_path / "a" / "figures").iterdir())
    assert figs and figs == sorted(p.name for p in (tmp_path / "b" / "figures").iterdir())
    for name in figs:
        assert (tmp_path / "a" / "figures" / name).read_bytes() == \
            (tmp_path / "b" / "figures" / name).read_bytes()
    page = (tmp_path / "b" / "REPORT.md").read_text()
    assert f"{n} of {n} check results and {sets} of {sets} figure sets reused" in page
    # no cache: everything computed, the same results but for the times
    build_report(tmp_path / "c", **{**kw, "cache": None})
    c = _results(tmp_path / "c")
    assert c["provenance"]["cache"]["folder"] is None
    strip = lambda rs: [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rs]  # noqa: E731
    assert strip(c["results"]) == strip(a["results"])


def test_the_cli_flags(tmp_path, capsys, monkeypatch):
    store = tmp_path / "cache"
    args = ["check", "permutation", "--quick", "--json"]
    assert main([*args, "--cache", str(store)]) == 0
    first = capsys.readouterr()
    assert "from the cache" not in first.err
    assert main([*args, "--cache", str(store)]) == 0
    second = capsys.readouterr()
    assert "from the cache" in second.err and json.loads(second.out) == json.loads(first.out)
    assert main([*args, "--no-cache"]) == 0
    assert "from the cache" not in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main([*args, "--cache", str(blocker / "c")]) == 2
    assert "--cache" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*args, "--cache", str(store), "--no-cache"])
    assert exc.value.code == 2
    capsys.readouterr()
    # the default cache is off in the tests (VERIFY_NO_CACHE): nothing in any folder
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "default"))
    assert main(args) == 0
    assert not (tmp_path / "home").exists() and not (tmp_path / "default").exists()


def test_a_sweep_reuses_its_records(tmp_path):
    from verify.sweep import read_records, run_sweep

    plan = {"sweep": {"lemmas": ["permutation"], "presets": ["theory-2layer"],
                      "replicates": 2, "quick": True}}
    first = run_sweep(plan, tmp_path / "a", cache=tmp_path / "cache", progress=False)
    second = run_sweep(plan, tmp_path / "b", cache=tmp_path / "cache", progress=False)
    assert first.n_cached == 0 and second.n_cached == second.n_tasks == 2
    ra, rb = read_records(tmp_path / "a"), read_records(tmp_path / "b")
    assert [r["cached"] for r in ra] == [False, False] and [r["cached"] for r in rb] == [True, True]
    assert [{**r, "cached": None} for r in ra] == [{**r, "cached": None} for r in rb]
    other = {"sweep": {**plan["sweep"], "base_seed": 1}}  # other streams: other keys
    assert run_sweep(other, tmp_path / "c", cache=tmp_path / "cache",
                     progress=False).n_cached == 0


def test_pickle_format_is_the_documented_one(tmp_path):
    store = cache.Cache(tmp_path)
    key = "aa" + "5" * 62
    store.put("x", key, [1, 2])
    data = store.path("x", key).read_bytes()
    head, payload = data[len(cache.MAGIC):].split(b"\n", 1)
    assert data.startswith(cache.MAGIC) and json.loads(head)["key"] == key
    assert pickle.loads(payload) == [1, 2]
