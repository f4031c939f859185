"""The proof's statements, one module each (paper Sec. 3 and the supplement).

Each module registers its check with :func:`verify.registry.register`; listing this
folder reads as the proof's outline. Modules are discovered, not listed here.
"""
