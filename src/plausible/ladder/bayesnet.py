"""bayesnet: a Bayesian network whose graph is learned from the data (a Chow–Liu forest).

    P(x) = Π_i P(x_i | x_parent(i))

Nodes. Each user column is one discrete node: its state codes other than VALUE (categories, point
masses, missing) followed by the quantile bins of its continuous value (`bins` of them; integer
columns get half-integer edges). A numeric column's state and bin are thus one variable, so
"missing", "exactly 0" and "a value in bin 3" exclude each other by construction and no
determinism between a state and a value node has to be enforced. Within a bin the density is
uniform, so for a continuous value x in bin k of width w_k

    log P(row) = Σ_i log P(level_i | level_parent(i)) − Σ_{values} log w_k,

exact and normalised (−inf outside the training range).

Structure (Chow, Liu 1968, with a BIC penalty). The log-likelihood of a forest is
N Σ_{edges} I(X_i; X_j) + const, with I the empirical mutual information, and an edge costs
(K_i − 1)(K_j − 1) parameters, so the BIC-optimal forest is the maximum spanning forest on

    gain_ij = N · I(X_i; X_j) − ½ log N · (K_i − 1)(K_j − 1),

keeping only edges with gain_ij > 0 (Kruskal). With 50 rows hardly any edge pays for itself and
the model is `independent`-like; with thousands of rows the real dependencies come in. Each tree
is rooted at its first column (schema order). Conditional probability tables are Laplace-smoothed:
P(x_i = b | x_p = a) = (n_ab + α) / (n_a + K_i α), and a root's table is its smoothed frequency.

Conditioning is exact belief propagation on the forest, vectorised over rows. Evidence is a 0/1
vector e_i per node (known cell: one-hot, a known number fixing its bin; unknown cell: every level
but "missing"). Upward, from leaves to roots,

    λ_i(x_i) = e_i(x_i) Π_{c child of i} Σ_{x_c} P(x_c | x_i) λ_c(x_c),

then downward (ancestral sampling on the posterior): a root is drawn ∝ P(x_r) λ_r(x_r), each child
∝ P(x_c | x_parent) λ_c(x_c), and an unknown number uniformly within its drawn bin. Sampling is
the same pass with no evidence at all (every λ = 1).
"""
from __future__ import annotations

import numpy as np

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.layout import Encoded
from ._marginals import Bins, ColumnLevels, OnePiece, draw_categorical, laplace, total


def mutual_information(joint: np.ndarray) -> float:
    """I(X; Y) in nats from a table of joint counts."""
    p = joint / joint.sum()
    outer = p.sum(axis=1, keepdims=True) * p.sum(axis=0, keepdims=True)
    seen = p > 0
    return float(np.sum(p[seen] * np.log(p[seen] / outer[seen])))


def pair_counts(levels: np.ndarray, sizes: np.ndarray) -> tuple[list, dict]:
    """Each node's counts (K_i,) and each pair's joint counts (K_i, K_j), i < j, of (N, M) levels:
    all the statistics of the forest and its tables, additive over a table's pieces."""
    m = levels.shape[1]
    single = [np.bincount(levels[:, i], minlength=sizes[i]) for i in range(m)]
    joint = {(i, j): np.bincount(levels[:, i] * sizes[j] + levels[:, j], minlength=sizes[i] * sizes[j]
                                 ).reshape(sizes[i], sizes[j])
             for i in range(m) for j in range(i + 1, m)}
    return single, joint


def chow_liu_forest(levels: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Parent of each node (−1 for a root) in the BIC-optimal forest, each tree rooted at its first node."""
    return forest_from_counts(pair_counts(levels, sizes)[1], len(levels), sizes)


def forest_from_counts(joint: dict, n: int, sizes: np.ndarray) -> np.ndarray:
    """`chow_liu_forest` from the pairs' joint counts (`pair_counts`) of n rows."""
    m = len(sizes)
    candidates = []  # (gain, i, j) for every edge that pays for its parameters
    for i in range(m):
        for j in range(i + 1, m):
            gain = n * mutual_information(joint[i, j]) - 0.5 * np.log(n) * (sizes[i] - 1) * (sizes[j] - 1)
            if gain > 0:
                candidates.append((gain, i, j))
    tree = list(range(m))  # Kruskal: union-find over the nodes

    def find(a: int) -> int:
        while tree[a] != a:
            tree[a] = tree[tree[a]]
            a = tree[a]
        return a

    neighbours = [[] for _ in range(m)]
    for _, i, j in sorted(candidates, key=lambda edge: -edge[0]):
        if find(i) != find(j):
            tree[find(i)] = find(j)
            neighbours[i].append(j)
            neighbours[j].append(i)
    parents = np.full(m, -1, dtype=np.int64)
    seen = np.zeros(m, dtype=bool)
    for root in range(m):  # orient each tree away from its first node
        if seen[root]:
            continue
        seen[root], queue = True, [root]
        while queue:
            node = queue.pop()
            for other in neighbours[node]:
                if not seen[other]:
                    seen[other], parents[other] = True, node
                    queue.append(other)
    return parents


def parents_first(parents: np.ndarray) -> np.ndarray:
    """The nodes ordered so that every parent comes before its children (by depth)."""
    depth = np.zeros(len(parents), dtype=np.int64)
    for i in range(len(parents)):
        node = i
        while parents[node] >= 0:
            node, depth[i] = parents[node], depth[i] + 1
    return np.argsort(depth, kind="stable")


@register
class BayesNet(Model):
    name = "bayesnet"
    family = "classical"
    complexity = 40
    description = "Bayesian network on a learned Chow–Liu forest (BIC-pruned), numbers in quantile bins"
    log_prob_kind = "exact"
    impute_kind = "exact"
    params = {
        "alpha": Param(1.0, float, "Laplace pseudo-count in every conditional probability table (> 0)", low=1e-12),
        "bins": Param(10, int, "quantile bins per continuous column", low=1, high=1000),
    }

    # ------------------------------------------------------------------ learning
    #: Fitted exactly from per-piece statistics (`core/by_parts.py`): every node's and pair's counts
    #: of levels, the bins' edges from one column at a time.
    merged_fit = True

    def _fit(self, data: Encoded, rng) -> None:
        self._fit_pieces(OnePiece(data), rng)

    def _fit_pieces(self, pieces, rng) -> None:
        """The fit from the table's pieces (`_marginals.OnePiece`): the same code in memory and by parts."""
        self.bins_ = [Bins.fit(pieces.values(c), self.bins, integer=v.integer)
                      for c, v in enumerate(self.layout_.continuous)]
        self.levels_ = ColumnLevels(self.layout_, self.bins_)
        single, joint = total(pieces, self._pair_counts)
        sizes = self.levels_.sizes
        self.parents_ = forest_from_counts(joint, pieces.rows, sizes)
        self.cpts_ = []  # node i: (K_parent, K_i), a root's as (1, K_i)
        for i, parent in enumerate(self.parents_):
            if parent < 0:
                counts = single[i][None, :]
            else:
                counts = joint[parent, i] if parent < i else joint[i, parent].T
            self.cpts_.append(laplace(counts, self.alpha))
        self._derive()

    def _pair_counts(self, piece: Encoded, first_row: int) -> tuple[list, dict]:
        return pair_counts(self.levels_.encode(piece), self.levels_.sizes)

    def _derive(self) -> None:
        self.order_ = parents_first(self.parents_)
        names = [column.name for column in self.layout_.modelled]
        self.edges_ = [(names[p], names[i]) for i, p in enumerate(self.parents_) if p >= 0]

    # ------------------------------------------------------------------ the protocol
    def _log_prob(self, data: Encoded) -> np.ndarray:
        levels = self.levels_.encode(data)
        total = self.levels_.log_density(data)
        for i, (parent, cpt) in enumerate(zip(self.parents_, self.cpts_)):
            given = levels[:, parent] if parent >= 0 else 0
            total += np.log(cpt[given, levels[:, i]])
        return total

    def _sample(self, n: int, rng) -> Encoded:
        unknown = self.layout_.unknown(n)
        everything = self.levels_.allowed(unknown, allow_missing=True)  # a fresh row may be missing
        return self.levels_.decode(self._draw(everything, rng), unknown, rng)

    def _impute(self, data: Encoded, rng) -> Encoded:
        return self.levels_.decode(self._draw(self.levels_.allowed(data), rng), data, rng)

    def _draw(self, allowed: list[np.ndarray], rng) -> np.ndarray:
        """(N, M) levels drawn from P(levels | each node's level in `allowed`): belief propagation."""
        messages = [mask.astype(float) for mask in allowed]  # λ_i, (N, K_i)
        for i in self.order_[::-1]:  # leaves first
            parent = self.parents_[i]
            if parent >= 0:
                upward = messages[i] @ self.cpts_[i].T  # (N, K_parent): Σ_x P(x | x_parent) λ_i(x)
                messages[parent] *= upward / upward.max(axis=1, keepdims=True)  # rescaled against underflow
        levels = np.zeros((len(allowed[0]), len(allowed)), dtype=np.int64)
        for i in self.order_:  # roots first
            parent = self.parents_[i]
            given = levels[:, parent] if parent >= 0 else 0
            levels[:, i] = draw_categorical(self.cpts_[i][given] * messages[i], rng)
        return levels

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        arrays = {f"cpt_{i}": cpt for i, cpt in enumerate(self.cpts_)}
        arrays.update({f"edges_{c}": bins.edges for c, bins in enumerate(self.bins_)})
        return {"parents": self.parents_.tolist()}, arrays

    def _set_state(self, state, arrays):
        self.bins_ = [Bins(arrays[f"edges_{c}"]) for c in range(len(self.layout_.continuous))]
        self.levels_ = ColumnLevels(self.layout_, self.bins_)
        self.parents_ = np.asarray(state["parents"], dtype=np.int64)
        if self.parents_.shape != self.levels_.sizes.shape:
            raise ValueError(f"the graph has {self.parents_.size} nodes, the schema {self.levels_.sizes.size} columns")
        self.cpts_ = [arrays[f"cpt_{i}"] for i in range(len(self.levels_.sizes))]
        for i, (parent, cpt) in enumerate(zip(self.parents_, self.cpts_)):
            expected = (self.levels_.sizes[parent] if parent >= 0 else 1, self.levels_.sizes[i])
            if cpt.shape != expected:
                raise ValueError(f"table of column {i} has shape {cpt.shape}, the graph needs {expected}")
        self._derive()
