"""Order and cycles on node ids: the graph algorithms, free of blocks and ports."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Sequence


def successors(node_ids: Sequence[str], pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Adjacency lists (distinct successors, in first-seen order) for edges between known nodes."""
    known = set(node_ids)
    out: dict[str, list[str]] = {n: [] for n in node_ids}
    for src, dst in pairs:
        if src in known and dst in known and dst not in out[src]:
            out[src].append(dst)
    return out


def topological_order(node_ids: Sequence[str], succ: dict[str, list[str]]) -> list[str] | None:
    """Kahn's algorithm; among ready nodes the one listed first in ``node_ids`` goes first.

    Returns ``None`` when there is a cycle.
    """
    rank = {n: i for i, n in enumerate(node_ids)}
    indegree = dict.fromkeys(node_ids, 0)
    for src in node_ids:
        for dst in succ[src]:
            indegree[dst] += 1
    ready = [rank[n] for n in node_ids if indegree[n] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = node_ids[heapq.heappop(ready)]
        order.append(node)
        for dst in succ[node]:
            indegree[dst] -= 1
            if indegree[dst] == 0:
                heapq.heappush(ready, rank[dst])
    return order if len(order) == len(node_ids) else None


def cycles_through(node_ids: Sequence[str], succ: dict[str, list[str]]) -> dict[str, list[str]]:
    """For every node on a cycle, a shortest cycle through it: ``[a, b, a]``.

    Nodes on no cycle are absent. Uses strongly connected components (a node is
    on a cycle iff its component has several nodes or it has a self-loop), then
    a breadth-first search inside the component.
    """
    result: dict[str, list[str]] = {}
    for component in _strongly_connected(node_ids, succ):
        members = set(component)
        for start in component:
            if len(component) == 1 and start not in succ[start]:
                continue
            result[start] = _shortest_cycle(start, succ, members)
    return {n: result[n] for n in node_ids if n in result}


def _shortest_cycle(start: str, succ: dict[str, list[str]], members: set[str]) -> list[str]:
    if start in succ[start]:
        return [start, start]
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in succ[node]:
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"{start} is in a strongly connected component but on no cycle")


def _strongly_connected(node_ids: Sequence[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on long chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in node_ids:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child_i = work.pop()
            if child_i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = succ[node]
            if child_i < len(children):
                work.append((node, child_i + 1))
                child = children[child_i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            # all children done: fold into the parent, maybe close a component
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components
