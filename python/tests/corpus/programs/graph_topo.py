"""Depth-first search: topological order (DFS and Kahn), cycle detection,
strongly connected components (Tarjan) on a small build-dependency graph."""

import kappa

DEPS = {
    "app": ["lib", "log", "net"],
    "lib": ["core", "util"],
    "net": ["core", "tls"],
    "tls": ["crypto"],
    "crypto": ["core"],
    "log": ["util"],
    "util": ["core"],
    "core": [],
    "docs": ["app"],
}


def dfs_order(graph, node, state, order):
    kappa.checkpoint()
    state[node] = "active"
    for dep in graph[node]:
        if state.get(dep) == "active":
            return False
        if dep not in state:
            if not dfs_order(graph, dep, state, order):
                return False
    state[node] = "done"
    order.append(node)
    return True


def topo_dfs(graph):
    state, order = {}, []
    for node in sorted(graph):
        if node not in state:
            if not dfs_order(graph, node, state, order):
                return None
    return order


def indegrees(graph):
    deg = {n: 0 for n in graph}
    for node in graph:
        for dep in graph[node]:
            deg[node] += 1
    return deg


def kahn(graph):
    deg = indegrees(graph)
    users = {n: [] for n in graph}
    for node, deps in graph.items():
        for dep in deps:
            users[dep].append(node)
    ready = sorted(n for n, d in deg.items() if d == 0)
    order = []
    while ready:
        node = ready.pop(0)
        kappa.checkpoint()
        order.append(node)
        for user in sorted(users[node]):
            deg[user] -= 1
            if deg[user] == 0:
                ready.append(user)
        ready.sort()
    return order if len(order) == len(graph) else None


def tarjan(graph):
    index, low, on_stack, stack, sccs = {}, {}, set(), [], []
    counter = [0]
    for node in sorted(graph):
        if node not in index:
            strongconnect(graph, node, index, low, on_stack, stack, sccs, counter)
    return sccs


def strongconnect(graph, v, index, low, on_stack, stack, sccs, counter):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on_stack.add(v)
    for w in graph[v]:
        if w not in index:
            strongconnect(graph, w, index, low, on_stack, stack, sccs, counter)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        scc = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            scc.append(w)
            if w == v:
                break
        sccs.append(sorted(scc))


def main():
    print("dfs order:", topo_dfs(DEPS))
    print("kahn order:", kahn(DEPS))
    cyclic = dict(DEPS)
    cyclic["core"] = ["app"]
    print("with a cycle:", topo_dfs(cyclic), kahn(cyclic))
    sccs = tarjan(cyclic)
    print("sccs:", sorted(sccs, key=len)[-1], len(sccs))
    return len(tarjan(DEPS))
