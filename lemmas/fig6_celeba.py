"""Fig. 6 (paper Sec. 4.3): the same sentence for the CelebA generator. Not judged: the
CelebA generator and data are not available offline, and no substitute would be the
paper's network (the digits generators judge Fig. 5's sentence, ``fig5``)."""

from __future__ import annotations

from verify.registry import register_statement

register_statement(
    "fig6",
    label="Fig. 6",
    section="Sec. 4.3",
    quote="The recovery of latent codes in these examples is perfect, using simple "
          "gradient descent.",
    hypotheses="the paper's generator trained on CelebA",
    not_judged="the CelebA generator and data are not available offline, and no substitute "
               "would be the paper's network",
)
