"""``verify list``: the lemma ids and the presets, one line each."""

from __future__ import annotations

from ..presets import presets
from ..registry import discover, statements
from ..settings import describe, to_json
from ._common import add_json, print_json



def configure(p) -> None:
    add_json(p)


def run(args) -> int:
    checks = discover()
    sts = statements()
    table = presets()
    if args.json:
        print_json({
            "statements": [st.to_json() for st in sts.values()],
            "lemmas": [{"id": c.id, "statement": c.statement, "reference": c.reference,
                        "presets": c.presets,
                        "draws": None if c.draw_rule is None else c.draw_rule.to_dict(),
                        **({"judged": c.judged} if c.judged else {}),
                        "known_bad": [kb.to_dict() for kb in c.known_bad],
                        "settings": to_json(c.settings)}
                       for c in checks.values()],
            "presets": [{"name": c.name, "description": c.description,
                         "network": c.spec.describe(), "weights": c.weights.to_dict(),
                         "mask": c.mask.to_dict(), "counterexample": c.counterexample}
                        for c in table.values()],
        })
        return 0
    print("Statements of the paper, in the proof's order (verify check STATEMENT):")
    swidth = max((len(i) for i in sts), default=8)
    if not sts:
        print("  (none registered)")
    for st in sts.values():
        how = (f"judged by {', '.join(st.checks)}" if st.judges
               else f"not judged: {st.not_judged}")
        print(f"  {st.id:<{swidth}}  {st.label} ({st.section}); {how}")
    print()
    print("Lemmas (verify check LEMMA; each judges the statements that name it):")
    width = max((len(i) for i in checks), default=8)
    if not checks:
        print("  (none registered)")
    for c in checks.values():
        print(f"  {c.id:<{width}}  {c.reference}: {c.statement}")
        rule = c.draw_rule
        judged = (c.judged or ("one draw decides (exact, or fixed weights)" if rule is None
                               else f"judged over {rule.draws} network draws, failure rate "
                                    f"<= {rule.tolerance:g}"))
        print(f"  {'':<{width}}  [{judged}; {len(c.known_bad)} known-bad configurations]")
        for line in describe(c.id, c.settings):
            print(f"  {'':<{width}}  {line}")
    print("\nPresets (--preset P):")
    width = max(len(n) for n in table)
    for c in table.values():
        print(f"  {c.name:<{width}}  {c.description}")
    return 0
