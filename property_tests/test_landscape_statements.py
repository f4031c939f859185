"""The statements the landscape check judges (Fig. 4, Sec. 3 and 4.2), each by its own
criteria: the exact quotes, the criteria functions' sense on hand-made outcomes, each
statement's verdict computed from its own criteria on a real draw, a Beyond that never
changes the statement's verdict, and the statement findings as data."""

from __future__ import annotations

import pytest

from verify.registry import get_statement, run_check
from verify.results import Criterion, Outcome, combined_verdict
from verify.statements import judge_outcome

#: id -> (module, the exact quote registered)
QUOTES = {
    "fig4-caption": ("lemmas.fig4_unique_global_minimum",
                     "There exists a unique global minimum."),
    "sec3-gd": ("lemmas.fig4a_convergence",
                "empirically we did not observe convergence to a point other than the "
                "ground truth. In other words, gradient descent seems to always find the "
                "global minimum, see Figure 4."),
    "fig4a-gd": ("lemmas.fig4a_convergence",
                 "Although Theorem 4 implies a possibility of a stationary point at the "
                 "negative multiple of the ground truth, experimentally we do not observe "
                 "convergence to any point other than the global minimum."),
    "fig4bc": ("lemmas.fig4bc_quasiconvexity",
               "Sigmoid and Tanh have quasi-convex landscapes as shown in Figure 4(b) and "
               "(c), which are even more favorable than that of ReLU."),
    "sec42-leaky": ("lemmas.sec42_leaky",
                    "Leaky ReLU has the same landscape as a regular ReLU."),
    "fig4d": ("lemmas.fig4d_mode_collapse",
              "there is a flat global minimum in the latent space, as shown in Figure 4(d). "
              "In this region, any two latent vectors are mapped to the exact same output, "
              "indicating that mode collapse indeed occurs."),
}


@pytest.mark.parametrize("sid", sorted(QUOTES))
def test_statement_registers_the_exact_quote(sid):
    st = get_statement(sid)
    module, quote = QUOTES[sid]
    assert st.quote == quote and st.module == module
    assert st.judges and st.judges[0].check == "landscape"


def _outcome(details, headline=None):
    h = headline or Criterion("local_minima", 1.0, 1.0, "<=", ceiling=9.0)
    return Outcome(headline=h, criteria=(), n_samples=1, details=details)


def _gm(points, flat, method="exact", z_star=True):
    return {"method": method, "points": points, "flat_cones": flat, "flat_fraction": 0.1 * flat,
            "any_flat_fraction": 0.25 * (flat > 0), "minimisers": points + 2 * flat,
            "ceiling": 99, "tolerance": 1e-10, "z_star_among": z_star}


def test_global_minimisers_counts_points_and_flat_cones():
    from lemmas.fig4_unique_global_minimum import global_minimisers

    def verdict(g):
        return judge_outcome(global_minimisers, _outcome({"global_minimum": g}))[0]

    assert verdict(_gm(1, 0)) == "holds"
    assert verdict(_gm(2, 0)) == "fails"            # two isolated global minimisers
    assert verdict(_gm(0, 1)) == "fails"            # a flat cone alone: a continuum
    assert verdict(_gm(1, 0, z_star=False)) == "uninformative"
    assert verdict(_gm(1, 0, method="sampled")) == "holds"
    assert judge_outcome(global_minimisers, _outcome({}))[0] == "uninformative"


def test_flat_global_minimum_and_collapse_witness_have_the_statements_sense():
    from lemmas.fig4d_mode_collapse import collapse_witness, flat_global_minimum

    def verdict(g):
        return judge_outcome(flat_global_minimum, _outcome({"global_minimum": g}))[0]

    assert verdict(_gm(1, 1)) == "holds" and verdict(_gm(1, 0)) == "fails"
    # a collision (ratio 0) and collapsed latents: the statement holds where the
    # injectivity check fails; an injective network makes it fail
    bound = 1.5e-8
    coll = Outcome(headline=Criterion("min_normalised_collision_ratio", 0.0, bound, ">=",
                                      ceiling=0.0), criteria=(), n_samples=1,
                   details={"collapse": {"count": 12, "n": 100}})
    inj = Outcome(headline=Criterion("min_normalised_collision_ratio", 0.3, bound, ">=",
                                     ceiling=0.0), criteria=(), n_samples=1,
                  details={"collapse": {"count": 0, "n": 100}})
    assert coll.headline.verdict == "fails" and judge_outcome(collapse_witness, coll)[0] == "holds"
    assert inj.headline.verdict == "holds" and judge_outcome(collapse_witness, inj)[0] == "fails"


def test_same_landscape_fails_on_different_classes_or_far_minima():
    from lemmas.sec42_leaky import SAME_TOL, same_landscape

    cls = {"local minimum": 1, "saddle": 2, "local maximum": 0, "flat": 0}

    def verdict(relu_saddles, h):
        d = {"classes": {"leaky_relu": cls, "relu": {**cls, "saddle": relu_saddles}},
             "hausdorff_over_norm_z_star": h, "leaky_other_minima": 0,
             "relu_other_minima": 0}
        return judge_outcome(same_landscape, _outcome({"leaky_vs_relu_exact": d}))[0]

    assert verdict(2, 0.0) == "holds"
    assert verdict(3, 0.0) == "fails"
    assert verdict(2, 2 * SAME_TOL) == "fails"
    assert judge_outcome(same_landscape, _outcome({}))[0] == "uninformative"


@pytest.mark.parametrize("preset,sid,names", [
    ("paper-fig4", "fig4-caption", ["global_minimisers"]),
    ("paper-fig4", "sec3-gd", ["gd_only_to_z_star"]),
    ("paper-fig4", "fig4a-gd", ["gd_only_to_z_star"]),
    ("paper-fig4-tanh", "fig4bc", ["quasiconvexity_violations"]),
    ("paper-fig4-leaky", "sec42-leaky", ["stationary_classes_differ", "minima_hausdorff"]),
    ("paper-fig4-uniform01", "fig4d", ["flat_cones_at_global_minimum"]),
])
def test_statement_verdict_comes_from_its_own_criteria(preset, sid, names):
    """One --quick draw: the statement's criteria are its own, and its verdict is their
    combined verdict, whatever the check's combined verdict."""
    res = run_check("landscape", preset, seed=0, quick=True, draws=1)
    v = {s.statement: s for s in res.statements}[sid]
    assert [c.name for c in v.criteria] == names
    assert v.verdict == combined_verdict(v.criteria)
    assert all(c.verdict != "uninformative" for c in v.criteria)


def test_beyond_never_changes_the_statements_verdict():
    """Seed 2's network has a local minimum other than z* (the Beyond fails) and one
    global minimiser (the caption holds); gradient descent ends at z* from every start
    (fig4a-gd holds beside its failing Beyond)."""
    res = run_check("landscape", "paper-fig4", seed=2, quick=True, draws=1)
    v = {s.statement: s for s in res.statements}
    assert res.criteria[0].name == "local_minima" and res.criteria[0].verdict == "fails"
    for sid in ("fig4-caption", "fig4a-gd"):
        assert v[sid].verdict == "holds"
        assert [b.verdict for b in v[sid].beyond] == ["fails"]
        assert v[sid].beyond[0].asks.startswith("no local minimum other than z*")


def test_quasiconvexity_statement_not_applicable_to_relu():
    from lemmas.fig4bc_quasiconvexity import sigmoid_or_tanh
    from verify.presets import get_preset

    assert sigmoid_or_tanh(get_preset("paper-fig4-tanh")) is None
    assert "relu" in sigmoid_or_tanh(get_preset("paper-fig4"))


def test_statement_findings_are_data_with_evidence():
    for sid in ("sec3-gd", "fig4a-gd", "fig4d", "fig4bc", "sec42-leaky"):
        fs = get_statement(sid).findings
        assert fs, sid
        for f in fs:
            assert f.sentence and f.sentence in get_statement(sid).quote
            assert f.measured_on and f.replay.startswith(f"verify check {sid} ")
            if f.single_draw is False:
                assert any(e.field == "draws_failed" for e in f.evidence), sid
    from lemmas import landscape
    from verify.registry import get_check

    assert not hasattr(landscape, "FINDINGS") and get_check("landscape").findings == ()
