"""A computation-graph backpropagation engine on NumPy arrays (micrograd style).

Every op function computes its value at once (eager forward: the order in which
nodes are created is a topological order) and keeps in a closure what its
*local* backward needs.  ``loss.backward()`` then visits the nodes in reverse
topological order and applies the chain rule at each one:

    downstream gradient = upstream gradient × local gradient

and where a value feeds several nodes, the gradients arriving from each use
are SUMMED ("gradients sum at fan-out").  Shape convention as in
:mod:`nertag.nn.layers`: ``node.grad`` has the shape of ``node.value`` (an
embedding table's gradient is a :class:`~nertag.nn.sparse.SparseRows`).
"""

from __future__ import annotations

import numpy as np

from nertag.nn.activations import activation
from nertag.nn.sparse import SparseRows, segment_sum


class Node:
    """``value``, ``grad``, the input nodes and the local backward closure.

    ``backward_fn(upstream) -> tuple`` returns one downstream gradient per
    input (None where an input gets nothing).  Source nodes (inputs,
    parameters) have no inputs and no closure.
    """

    def __init__(self, value, name: str = "", inputs=(), backward_fn=None, op: str = "source"):
        self.value = np.asarray(value)
        self.name, self.op = name, op
        self.inputs = tuple(inputs)
        self.backward_fn = backward_fn
        self.grad = None
        self._parts: list[SparseRows] = []  # sparse contributions, segmented once

    @property
    def shape(self):
        return self.value.shape

    def __repr__(self) -> str:
        return f"Node({self.op}{' ' + self.name if self.name else ''}, shape={self.shape})"

    def backward(self) -> None:
        """Backpropagate from this scalar output to every node that led to it."""
        if self.value.size != 1:
            raise ValueError(f"backward() needs a scalar output, got shape {self.shape}")
        order = topological_order(self)
        for node in order:                                  # fresh gradients each call
            node.grad, node._parts = None, []
        self.grad = np.ones_like(self.value)                # ∂J/∂J = 1
        for node in reversed(order):                        # consumers before producers
            _finish(node)                                   # all uses have reported now
            if node.backward_fn is None:
                continue
            downstream = node.backward_fn(node.grad)        # upstream × local, per input
            for inp, g in zip(node.inputs, downstream):
                if g is not None:
                    _accumulate(inp, g)


def topological_order(root: Node) -> list[Node]:
    """Every node before the nodes that use it (iterative DFS, post-order)."""
    order, seen = [], {id(root)}
    stack = [(root, iter(root.inputs))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, iter(child.inputs)))
                break
        else:  # all inputs done: the node itself can go
            stack.pop()
            order.append(node)
    return order


def _accumulate(node: Node, g) -> None:
    """Gradients sum at fan-out: add ``g`` to what earlier uses contributed."""
    if isinstance(g, SparseRows):
        node._parts.append(g)                      # kept as a list, segmented once
    elif node.grad is None:
        dtype = node.value.dtype if node.value.dtype.kind == "f" else np.float64
        node.grad = np.array(g, dtype=dtype).reshape(node.shape)  # a copy: += is safe
    else:
        node.grad += g


def _finish(node: Node) -> None:
    """Merge sparse contributions (repeated rows add up); no use at all -> zeros."""
    if node._parts:
        ids = np.concatenate([p.ids for p in node._parts])
        rows = np.concatenate([p.rows for p in node._parts])
        sparse = segment_sum(ids, rows, node.shape[0])
        node.grad = sparse if node.grad is None else node.grad + sparse.dense()
        node._parts = []
        if node.backward_fn is not None and isinstance(node.grad, SparseRows):
            node.grad = node.grad.dense()          # interior nodes pass on dense grads
    if node.grad is None:
        node.grad = np.zeros_like(node.value)


def _node(x) -> Node:
    return x if isinstance(x, Node) else Node(x, op="const")


def _unbroadcast(g: np.ndarray, shape) -> np.ndarray:
    """The gradient of a broadcast input: sum over the axes it was repeated along."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for ax, n in enumerate(shape):
        if n == 1 and g.shape[ax] != 1:
            g = g.sum(axis=ax, keepdims=True)
    return g


def _op(value, inputs, backward_fn, op) -> Node:
    return Node(value, inputs=inputs, backward_fn=backward_fn, op=op)


# ------------------------------------------------------------- linear algebra
def matmul(a, b) -> Node:
    """a @ b, (m, k) @ (k, n):  ∂J/∂a = G bᵀ,  ∂J/∂b = aᵀ G."""
    a, b = _node(a), _node(b)
    return _op(a.value @ b.value, (a, b), lambda g: (g @ b.value.T, a.value.T @ g), "matmul")


def add_bias(x, b) -> Node:
    """x + b with b (n,) broadcast over the rows of x (m, n): ∂J/∂b sums G over rows."""
    x, b = _node(x), _node(b)
    return _op(x.value + b.value, (x, b), lambda g: (g, g.sum(axis=0)), "add_bias")


def add(a, b) -> Node:
    """a + b (NumPy broadcasting): the local gradient is 1 for both inputs."""
    a, b = _node(a), _node(b)
    return _op(a.value + b.value, (a, b),
               lambda g: (_unbroadcast(g, a.shape), _unbroadcast(g, b.shape)), "add")


def mul(a, b) -> Node:
    """a ∘ b elementwise: ∂J/∂a = G ∘ b,  ∂J/∂b = G ∘ a."""
    a, b = _node(a), _node(b)
    return _op(a.value * b.value, (a, b), lambda g: (_unbroadcast(g * b.value, a.shape),
                                                    _unbroadcast(g * a.value, b.shape)), "mul")


def dot(a, b) -> Node:
    """Σ_last a ∘ b: a vector dot product, or one per row for (m, n) inputs."""
    a, b = _node(a), _node(b)
    return _op((a.value * b.value).sum(axis=-1), (a, b),
               lambda g: (g[..., None] * b.value, g[..., None] * a.value), "dot")


def scale(x, c: float) -> Node:
    """c·x for a constant c (e.g. 1/N for an average)."""
    x = _node(x)
    return _op(c * x.value, (x,), lambda g: (c * g,), "scale")


def mul_const(x, mask) -> Node:
    """x ∘ mask for a constant mask (dropout): the gradient is masked the same way."""
    x, mask = _node(x), np.asarray(mask)
    return _op(x.value * mask, (x,), lambda g: (_unbroadcast(g * mask, x.shape),), "mul_const")


# ------------------------------------------------------------- activations
def activate(x, kind: str) -> Node:
    """h = f(x) elementwise; local gradient f′ from the activation table (tanh′ = 1 − h²,
    σ′ = σ(1 − σ), relu′ = [x > 0], hardtanh′ = [|x| < 1])."""
    x = _node(x)
    f, df = activation(kind)
    h = f(x.value)
    return _op(h, (x,), lambda g: (g * df(x.value, h),), kind)


def maximum(x, axis: int = -1) -> Node:
    """max along ``axis``: the whole gradient goes to the arg-max (first one on ties)."""
    x = _node(x)
    arg = np.expand_dims(np.argmax(x.value, axis=axis), axis)

    def back(g):
        dx = np.zeros_like(x.value)
        np.put_along_axis(dx, arg, np.expand_dims(g, axis), axis)
        return (dx,)
    return _op(np.take_along_axis(x.value, arg, axis).squeeze(axis), (x,), back, "maximum")


# ------------------------------------------------------------- shapes and lookups
def embedding(table, ids) -> Node:
    """Rows ``table[ids]``: ids (...) -> (..., d).  Backward adds each row's gradient
    into the table row it came from; a repeated id gets the sum (a SparseRows)."""
    table, ids = _node(table), np.asarray(ids)
    d = table.shape[1]
    return _op(table.value[ids], (table,), lambda g: (
        segment_sum(ids.ravel(), g.reshape(-1, d), table.shape[0]),), "embedding")


def concat(nodes, axis: int = -1) -> Node:
    """Join along ``axis``; backward cuts the gradient back into the pieces."""
    nodes = [_node(n) for n in nodes]
    cuts = np.cumsum([n.shape[axis] for n in nodes])[:-1]
    return _op(np.concatenate([n.value for n in nodes], axis=axis), nodes,
               lambda g: tuple(np.split(g, cuts, axis=axis)), "concat")


def unfold(x, k: int) -> Node:
    """Windows of k rows along axis 1, side by side (im2col): x (W, L, c) -> (W, P, k·c),
    P = L − k + 1, out[w, j] = [x[w, j]; …; x[w, j+k−1]].  Backward: each input row gets
    the slices of every window it sits in, ∂J/∂x[w, t] = Σ_s G[w, t−s, s·c:(s+1)·c]."""
    x = _node(x)
    P, c = x.shape[1] - k + 1, x.shape[2]

    def back(g):
        dx = np.zeros_like(x.value)
        for s in range(k):
            dx[:, s:s + P] += g[:, :, s * c:(s + 1) * c]
        return (dx,)
    return _op(np.concatenate([x.value[:, s:s + P] for s in range(k)], axis=2), (x,), back,
               "unfold")


def reshape(x, shape) -> Node:
    x = _node(x)
    return _op(x.value.reshape(shape), (x,), lambda g: (g.reshape(x.shape),), "reshape")


def transpose(x) -> Node:
    x = _node(x)
    return _op(x.value.T, (x,), lambda g: (g.T,), "transpose")


def sum(x, axis=None) -> Node:  # noqa: A001 - mirrors np.sum
    """Σ along ``axis`` (all if None): each input entry gets the upstream gradient."""
    x = _node(x)

    def back(g):
        g = g if axis is None else np.expand_dims(g, axis)
        return (np.broadcast_to(g, x.shape).copy(),)
    return _op(x.value.sum(axis=axis), (x,), back, "sum")


def index(x, idx) -> Node:
    """x[idx] for any NumPy index; entries picked twice get both gradients (add.at)."""
    x = _node(x)

    def back(g):
        dx = np.zeros_like(x.value)
        np.add.at(dx, idx, g)
        return (dx,)
    return _op(x.value[idx], (x,), back, "index")


def gather(x, rows, cols) -> Node:
    """x[rows[i], cols[i]] for each i, e.g. the gold tag's score in each row."""
    return index(x, (np.asarray(rows), np.asarray(cols)))


# ------------------------------------------------------------- reductions
def logsumexp(x, axis: int = -1) -> Node:
    """log Σ exp along ``axis`` (stable); the local gradient is softmax along axis."""
    x = _node(x)
    m = x.value.max(axis=axis, keepdims=True)
    lse = m + np.log(np.exp(x.value - m).sum(axis=axis, keepdims=True))
    p = np.exp(x.value - lse)
    return _op(lse.squeeze(axis), (x,), lambda g: (np.expand_dims(g, axis) * p,), "logsumexp")


OPS = [f.__name__ for f in (matmul, add_bias, add, mul, dot, scale, mul_const, activate,
                            maximum, embedding, concat, unfold, reshape, transpose, sum, index,
                            gather, logsumexp)]
