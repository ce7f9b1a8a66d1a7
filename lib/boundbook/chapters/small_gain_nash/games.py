"""The quadratic games of the chapter: two players, pseudo-gradient :math:`F(x) = Hx`.

Player :math:`i` minimises :math:`f_i(x) = \\tfrac12 x_i^\\top Q_i x_i + x_i^\\top A_{ij} x_j`,
so :math:`F(x) = (\\nabla_{x_1} f_1, \\nabla_{x_2} f_2) = Hx` with
:math:`H = \\begin{pmatrix} Q_1 & A_{12} \\\\ A_{21} & Q_2 \\end{pmatrix}`. The families follow the
authors' code (``AashVed/SmallGainNash``): the scalar example of their Section 5.1 (``a = 10``,
``b = 0.05``, :math:`\\mu_1 = \\mu_2 = 1`), the "clean" LQ game (:math:`Q_i = I`,
:math:`A_{12} = \\lambda a R`, :math:`A_{21} = \\lambda b R^\\top`, :math:`R` orthogonal) and the
random ensemble (:math:`Q_i = R_i^\\top R_i + I`, :math:`R` Gaussian normalised to
:math:`\\|R\\|_2 = 1`). The certificate's constants are the paper's: :math:`\\mu_i =
\\lambda_{\\min}(Q_i)`, :math:`L_{12} = \\|A_{12}\\|_2 = \\lambda a`, :math:`L_{21} = \\lambda b`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

A_COUPLING = 10.0
B_COUPLING = 0.05
"""The paper's example couplings (``a``, ``b``), also the LQ games' scales."""


@dataclass(frozen=True)
class Game:
    """One two-player quadratic game and the certificate's constants for it.

    ``equality``: the SGN bound on the weighted symmetric part is attained (scalar blocks, or an
    orthogonal coupling with isotropic curvature), so the true margin equals the certified one
    at every weight."""

    label: str
    family: str
    lam: float
    d: int
    H: np.ndarray
    mu1: float
    mu2: float
    L12: float
    L21: float
    equality: bool

    @property
    def blocks(self) -> tuple[int, int]:
        return (self.d, self.d)


def _orthogonal(rng: np.random.Generator, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.sign(np.diag(r))
    s[s == 0] = 1.0
    return q * s


def build(label: str, family: str, lam: float, Q1: np.ndarray, Q2: np.ndarray, R: np.ndarray,
          a: float, b: float, equality: bool) -> Game:
    d = Q1.shape[0]
    H = np.block([[Q1, lam * a * R], [lam * b * R.T, Q2]])
    return Game(label, family, float(lam), d, H, float(np.linalg.eigvalsh(Q1)[0]),
                float(np.linalg.eigvalsh(Q2)[0]), float(lam * a * np.linalg.norm(R, 2)),
                float(lam * b * np.linalg.norm(R, 2)), equality)


def scalar_game(lam: float, a: float = A_COUPLING, b: float = B_COUPLING,
                label: str | None = None) -> Game:
    """The paper's 2-D example scaled by ``lam`` (``lam = 1``: Section 5.1's game)."""
    one = np.eye(1)
    return build(label or f"scalar λ={lam:g}", "scalar", lam, one, one, one, a, b, True)


def clean_game(lam: float, d: int, seed: int, label: str | None = None) -> Game:
    """The clean LQ game: ``Q_i = I``, ``A12 = lam a R``, ``A21 = lam b R^T``, R orthogonal."""
    rng = np.random.default_rng([seed, 12345])
    eye = np.eye(d)
    return build(label or f"clean d={2 * d} λ={lam:g}", "clean", lam, eye, eye,
                 _orthogonal(rng, d), A_COUPLING, B_COUPLING, True)


def random_game(lam: float, d: int, seed: int, k: int) -> Game:
    """The authors' random ensemble: ``Q_i = R_i^T R_i + I``, R Gaussian with ``||R|| = 1``."""
    rng = np.random.default_rng([seed, 1000 + k])
    R1, R2 = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    Rb = rng.standard_normal((d, d))
    return build(f"random #{k} d={2 * d} λ={lam:g}", "random", lam, R1.T @ R1 + np.eye(d),
                 R2.T @ R2 + np.eye(d), Rb / np.linalg.norm(Rb, 2), A_COUPLING, B_COUPLING,
                 False)


def suite(lams: tuple[float, ...], d: int, n_random: int, seed: int) -> list[Game]:
    """The games of the certificate claims: for each coupling scale ``lam``, the scalar
    example, the clean LQ game and ``n_random`` random games (block dimension ``d``)."""
    games: list[Game] = []
    for lam in lams:
        games.append(scalar_game(lam))
        games.append(clean_game(lam, d, seed))
        games.extend(random_game(lam, d, seed, k) for k in range(n_random))
    return games


def past_bound_games(d: int, seed: int, excess: float) -> list[Game]:
    """The same families just past the small-gain bound, ``L12 L21 = excess * mu1 mu2``: the
    paper's example with ``b`` raised so that ``a b = excess``, and the clean LQ game at
    ``lam = sqrt(excess/(a b))``."""
    lam = float(np.sqrt(excess / (A_COUPLING * B_COUPLING)))
    return [scalar_game(1.0, b=excess / A_COUPLING, label=f"scalar ab={excess:g}"),
            clean_game(lam, d, seed, label=f"clean d={2 * d} λ={lam:.4g}")]
