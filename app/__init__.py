"""The PySide6 desktop app and the ``groovefader`` command table."""

import os

# numpy's BLAS on one thread, set before numpy loads (every command imports this package
# first). With a thread per core, the map of the data's start-up SVD took 1.1-1.4 s on two
# cores shared with the clock process and the GUI, 0.2 s on one; the networks already run
# on one thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
