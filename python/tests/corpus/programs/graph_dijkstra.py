"""Dijkstra with a binary heap against Bellman-Ford on a generated road
network; path reconstruction; all-pairs via repeated Dijkstra."""

import heapq

import kappa


def road_network(n):
    graph = {v: [] for v in range(n)}
    for v in range(n):
        for step in (1, 3, 7):
            w = (v + step) % n
            cost = (v * 13 + step * 7) % 17 + 1
            graph[v].append((w, cost))
    return graph


def relax_edges(graph, v, dist):
    kappa.checkpoint()
    out = []
    for w, cost in graph[v]:
        if dist[v] + cost < dist.get(w, float("inf")):
            out.append((w, dist[v] + cost))
    return out


def dijkstra(graph, source):
    dist = {source: 0}
    prev = {source: None}
    heap = [(0, source)]
    done = set()
    while heap:
        d, v = heapq.heappop(heap)
        if v in done:
            continue
        done.add(v)
        for w, nd in relax_edges(graph, v, dist):
            dist[w] = nd
            prev[w] = v
            heapq.heappush(heap, (nd, w))
    return dist, prev


def bellman_ford(graph, source):
    dist = {source: 0}
    for _ in range(len(graph) - 1):
        changed = False
        for v in range(len(graph)):
            if v in dist:
                for w, nd in relax_edges(graph, v, dist):
                    dist[w] = nd
                    changed = True
        if not changed:
            break
    return dist


def route(prev, target):
    out = []
    while target is not None:
        out.append(target)
        target = prev[target]
    return out[::-1]


def main():
    graph = road_network(16)
    dist, prev = dijkstra(graph, 0)
    print("distances:", [dist[v] for v in range(16)])
    print("route to 11:", route(prev, 11))
    print("bellman-ford agrees:", bellman_ford(graph, 0) == dist)
    eccentricity = []
    for source in range(0, 16, 5):
        d, _ = dijkstra(graph, source)
        eccentricity.append(max(d.values()))
    print("eccentricities:", eccentricity)
    return sum(dist.values())
