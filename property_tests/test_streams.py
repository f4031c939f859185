"""One randomness policy: :class:`verify.rng.Streams`."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify.errors import VerifyError
from verify.rng import Streams


@given(seed=st.integers(0, 2**64))
def test_named_streams_are_the_seed_sequence_children(seed):
    s = Streams(seed)
    kids = np.random.SeedSequence(seed).spawn(4)
    for name, child in (("weights", kids[0]), ("mask", kids[1]), ("check", kids[2])):
        assert np.array_equal(s.generator(name).integers(2**63, size=4),
                              np.random.default_rng(child).integers(2**63, size=4))
    # task i is child i of spawn child 3, built in O(1)
    assert Streams.of(kids[3].spawn(3)[2]) == s.task(2)


@pytest.mark.slow  # builds a large sweep's streams
def test_task_streams_of_a_large_sweep_are_distinct():
    base = Streams(0)
    n = 100_000
    # the first 64-bit word of each task's check stream: a repeat would mean two tasks
    # share randomness (a 32-bit seed repeats with probability ~0.69 at this size)
    words = {int(base.task(i).child(2).generate_state(2, np.uint32).view(np.uint64)[0])
             for i in range(n)}
    assert len(words) == n
    assert len({base.task(i) for i in range(0, n, 997)}) == len(range(0, n, 997))


def test_record_round_trip_and_identity():
    t = Streams(2**70).task(12)
    assert Streams.from_record(t.record()) == t
    assert t.seed is None and Streams(5).seed == 5
    assert Streams.of(np.random.SeedSequence(5)) == Streams(5)


@pytest.mark.parametrize("bad", [-1, True, 1.5, "3"])
def test_bad_seeds_are_refused(bad):
    with pytest.raises(VerifyError, match="seed"):
        Streams(bad)


def test_unknown_stream_name_is_refused():
    with pytest.raises(VerifyError, match="stream"):
        Streams(0).generator("noise")


def test_a_sweep_tasks_streams_replay_from_the_command_line(capsys):
    import json

    from verify.cli import main
    from verify.registry import run_check

    code = main(["check", "angle", "--preset", "theory-2layer", "--quick", "--draws", "1",
                 "--seed", "0/3.5", "--json"])
    out = json.loads(capsys.readouterr().out)
    direct = run_check("angle", "theory-2layer", seed=Streams(0).task(5), quick=True, draws=1)
    assert code in (0, 1) and out["seed"] == "0/3.5" == direct.seed
    assert out["statistic"] == direct.statistic
    other = run_check("angle", "theory-2layer", seed=0, quick=True, draws=1)
    assert other.statistic != direct.statistic  # a task's streams are not the seed's own
    with pytest.raises(SystemExit) as exit_:
        main(["check", "angle", "--seed", "0/x"])
    assert exit_.value.code == 2


def test_theory_presets_are_independent_draws():
    """theory-2layer-2d draws from its own weights stream: its
    standardised entries are not the 1-D preset's normals laid out again."""
    import numpy as np

    from verify.presets import Config, get_preset

    one = get_preset("theory-2layer").instantiate(0).network.weights[0].filters.ravel()
    two = get_preset("theory-2layer-2d").instantiate(0).network.weights[0].filters.ravel()
    n = min(one.size, two.size)
    a, b = one[:n] / one.std(), two[:n] / two.std()
    assert not np.allclose(a, b)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(n)
    cfg = get_preset("theory-2layer-2d")
    assert cfg.weights.stream == 1 and Config.from_dict(cfg.to_dict()) == cfg
    # stream 0 stays the seed's weights stream: every other network is drawn as before
    assert get_preset("paper-fig4").weights.stream == 0
