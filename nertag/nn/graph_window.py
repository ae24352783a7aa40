"""The window classifier built on the graph engine (:mod:`nertag.nn.graph`).

Nothing here is derived by hand: the forward pass is written with graph ops and
``loss.backward()`` produces every gradient, so it is an independent check of
:func:`nertag.nn.window.loss_and_grads` (same contract, same gradient dict).
"""

from __future__ import annotations

import numpy as np

from nertag.nn import graph
from nertag.nn.arch import Arch, CharArch


def char_vectors(P: dict[str, graph.Node], chars: np.ndarray, ch: CharArch) -> graph.Node:
    """v = max_j f(K u_j + b) for every row of character ids chars: (N, L) -> (N, m),
    as defined (f before the max, every occurrence of a word computed again)."""
    N = len(chars)
    u = graph.unfold(graph.embedding(P["C_char"], chars), ch.k)                # (N, P, k·c)
    z = graph.matmul(graph.reshape(u, (N * ch.P, ch.k * ch.c)), graph.transpose(P["K_char"]))
    z = graph.reshape(graph.add_bias(z, P["b_char"]), (N, ch.P, ch.m))         # z = K u + b
    if ch.activation == "tanh":
        z = graph.activate(z, "tanh")
    return graph.maximum(z, axis=1)                                         # the max routes


def build_scores(P: dict[str, graph.Node], X: np.ndarray, arch: Arch, masks=(None, None)) -> graph.Node:
    """s = U f(W x + b) + c as a graph.  P: parameter nodes, X: (B, n, F) (or (B, n, F + L)
    with the character CNN) -> s: (B, K)."""
    B, n = X.shape[:2]
    looked_up = [graph.embedding(P[f"E_{name}"], X[:, :, f])               # (B, n, d_f) each
                 for f, (name, _, _) in enumerate(arch.features)]
    if arch.chars is not None:                                          # (B, n, m)
        chars = X[:, :, arch.n_features:].reshape(B * n, -1)
        looked_up.append(graph.reshape(char_vectors(P, chars, arch.chars), (B, n, arch.chars.m)))
    e = graph.concat(looked_up, axis=2) if len(looked_up) > 1 else looked_up[0]  # (B, n, D)
    x = graph.reshape(e, (B, arch.input_dim))                               # (B, n·D)
    if masks[0] is not None:
        x = graph.mul_const(x, masks[0])
    z = graph.add_bias(graph.matmul(x, graph.transpose(P["W"])), P["b"])            # z = Wx + b
    h = graph.activate(z, arch.activation)                                  # h = f(z)
    if masks[1] is not None:
        h = graph.mul_const(h, masks[1])
    return graph.add_bias(graph.matmul(h, graph.transpose(P["U"])), P["c"])         # s = Uh + c


def softmax_ce(s: graph.Node, y: np.ndarray) -> graph.Node:
    """J = mean over rows of −log softmax(s)[y] = (Σ_b log Σ_k exp s[b, k] − Σ_b s[b, y_b]) / B,
    built from graph ops (log-sum-exp and a gather): ∂J/∂s comes from the engine."""
    B = len(y)
    gold = graph.sum(graph.gather(s, np.arange(B), y))
    return graph.scale(graph.add(graph.sum(graph.logsumexp(s, axis=1)), graph.scale(gold, -1.0)), 1.0 / B)


def sigmoid_bce(s: graph.Node, y: np.ndarray) -> graph.Node:
    """One-vs-rest logistic heads: J = (Σ_{b,k} softplus(s[b, k]) − Σ_b s[b, y_b]) / B, with
    softplus(z) = log(e⁰ + eᶻ) a log-sum-exp over [0, z]: graph ops only."""
    B, K = s.shape
    zero_and_s = graph.concat([np.zeros((B, K, 1), dtype=s.value.dtype), graph.reshape(s, (B, K, 1))],
                          axis=2)
    gold = graph.sum(graph.gather(s, np.arange(B), y))
    return graph.scale(graph.add(graph.sum(graph.logsumexp(zero_and_s, axis=2)), graph.scale(gold, -1.0)), 1.0 / B)


def crf_nll(S: graph.Node, y: np.ndarray, lengths, A: graph.Node, start: graph.Node, end: graph.Node) -> graph.Node:
    """Mean over sentences of log Z − score(gold) for sentences laid end to end in S (B, K).

    score(y) = start[y_0] + Σ_t S[t, y_t] + Σ_{t≥1} A[y_{t−1}, y_t] + end[y_{T−1}];
    log Z by the forward algorithm: α_0 = start + S_0,
    α_t[j] = logsumexp_i(α_{t−1}[i] + A[i, j]) + S_t[j],  log Z = logsumexp(α_{T−1} + end).
    A, start, end and S feed many nodes: backward sums their gradients (fan-out).
    """
    y = np.asarray(y)
    lengths = [len(y)] if lengths is None else [int(T) for T in lengths]
    if sum(lengths) != len(y) or min(lengths, default=1) < 1:
        raise ValueError(f"sentence lengths {lengths} do not cover the {len(y)} tokens")
    K = A.shape[0]
    total, o = None, 0
    for T in lengths:
        t_ids, yi = np.arange(o, o + T), y[o:o + T]
        gold = graph.add(graph.index(start, yi[0]), graph.sum(graph.gather(S, t_ids, yi)))
        if T > 1:
            gold = graph.add(gold, graph.sum(graph.gather(A, yi[:-1], yi[1:])))
        gold = graph.add(gold, graph.index(end, yi[-1]))
        alpha = graph.add(start, graph.index(S, o))                              # α_0 (K,)
        for t in range(o + 1, o + T):
            paths = graph.add(graph.reshape(alpha, (K, 1)), A)                   # α[i] + A[i, j]
            alpha = graph.add(graph.logsumexp(paths, axis=0), graph.index(S, t))
        log_z = graph.logsumexp(graph.add(alpha, end), axis=0)
        nll = graph.add(log_z, graph.scale(gold, -1.0))
        total = nll if total is None else graph.add(total, nll)
        o += T
    return graph.scale(total, 1.0 / len(lengths))



def graph_loss(params: dict, X: np.ndarray, y: np.ndarray, arch: Arch, *,
               masks=(None, None), lengths=None):
    """The loss node and the parameter nodes (forward only; call ``.backward()``)."""
    P = {k: graph.Node(v, name=k) for k, v in params.items()}
    s = build_scores(P, X, arch, masks)
    if arch.head == "softmax":
        loss = softmax_ce(s, y)
    elif arch.head == "binary":
        loss = sigmoid_bce(s, y)
    elif arch.head == "crf":
        loss = crf_nll(s, y, lengths, P["A"], P["start"], P["end"])
    else:
        raise ValueError(f"unknown head {arch.head!r}")
    return loss, P


def graph_loss_and_grads(params: dict, X: np.ndarray, y: np.ndarray, arch: Arch, *,
                         masks=(None, None), lengths=None, tick=None):
    """Same contract as :func:`nertag.nn.window.loss_and_grads`, gradients by the graph
    engine (``tick("backward")`` after the whole step: forward and backward)."""
    loss, P = graph_loss(params, X, y, arch, masks=masks, lengths=lengths)
    loss.backward()
    if tick is not None:
        tick("backward")
    return float(loss.value), {k: P[k].grad for k in arch.shapes()}
