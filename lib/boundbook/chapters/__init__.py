"""The book's chapters, one package per paper (``chapters/<slug>/``).

``BOOK`` is the one list of chapters, in book order: the registry
(:mod:`boundbook.core.chapter`), the ledger, the tests and ``_toc.yml`` (checked by a test)
follow it. A package present here but not in ``BOOK`` is a *draft*: ``boundbook run <slug>``
executes it, the book, the ledger and the tests ignore it.
"""

BOOK: tuple[str, ...] = (
    "ghosts_of_softmax",
    # Part I: stable step sizes
    "gd_quadratic",
    "edge_of_stability",
    "sgd_linear_stability",
    "sam_edge",
    "adam_edge",
    "muon_stable_step",
    "gfs_sharpness",
    # Part II: contraction certificates
    "gd_contraction",
    "small_gain_nash",
    "target_networks",
    "rnn_gradients",
    "contractive_dynamics",
    # Part III: tracking errors
    "drift_tracking",
    "decentralised_streaming",
    "lr_schedules_shift",
    "kalman_natural_gradient",
)
