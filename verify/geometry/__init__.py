"""The exact geometry of the network: the cones on which G is linear, the stationary
sets of J, the WDC numerics, and the landscape's exact, grid and summary machinery.

Public modules that the statements (``lemmas``) and the tests use directly.
"""
