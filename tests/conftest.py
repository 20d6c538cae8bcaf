"""Test-session settings.

PyTorch runs on one thread in the tests. The networks under test are small, where a second
thread buys little, and on a shared or oversubscribed machine (CI runners, the DDP test's two
processes, a benchmark running beside the tests) OpenMP's spinning threads can slow small
matrix products down by an order of magnitude (measured here: 23 ms vs 860 ms per training
step of the diffusion denoiser on a loaded 2-core machine). Set once, before any test runs, so
the conformance suite's "no global state changed" checks compare like with like.
"""
import torch
from threadpoolctl import threadpool_limits

torch.set_num_threads(1)
# NumPy's and scikit-learn's BLAS/OpenMP pools too: the image rungs' small matrix products ran ~50x
# slower on a loaded machine with a thread per core spinning (measured while issue 25 was built).
_ONE_THREAD = threadpool_limits(limits=1)
