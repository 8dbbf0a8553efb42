"""Minimum spanning trees: Kruskal with union-find (path compression, union
by rank) and Prim with a heap must find the same total weight."""

import heapq

import kappa


def make_edges(n):
    edges = []
    for u in range(n):
        for v in range(u + 1, n):
            if (u * 7 + v * 3) % 4 != 0:
                edges.append(((u * 31 + v * 17) % 23 + 1, u, v))
    return edges


def find(parent, x):
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        parent[x], x = root, parent[x]
    return root


def union(parent, rank, a, b):
    kappa.checkpoint()
    ra, rb = find(parent, a), find(parent, b)
    if ra == rb:
        return False
    if rank[ra] < rank[rb]:
        ra, rb = rb, ra
    parent[rb] = ra
    if rank[ra] == rank[rb]:
        rank[ra] += 1
    return True


def kruskal(n, edges):
    parent, rank = list(range(n)), [0] * n
    tree = []
    for weight, u, v in sorted(edges):
        if union(parent, rank, u, v):
            tree.append((u, v, weight))
            if len(tree) == n - 1:
                break
    return tree


def prim(n, edges):
    adjacency = {v: [] for v in range(n)}
    for w, u, v in edges:
        adjacency[u].append((w, v))
        adjacency[v].append((w, u))
    seen, total, heap = {0}, 0, list(adjacency[0])
    heapq.heapify(heap)
    while heap and len(seen) < n:
        w, v = heapq.heappop(heap)
        if v in seen:
            continue
        kappa.checkpoint()
        seen.add(v)
        total += w
        for item in adjacency[v]:
            if item[1] not in seen:
                heapq.heappush(heap, item)
    return total


def main():
    n = 12
    edges = make_edges(n)
    tree = kruskal(n, edges)
    weight = sum(w for _, _, w in tree)
    print("edges:", len(edges), "tree:", tree)
    print("kruskal weight:", weight, "prim weight:", prim(n, edges))
    return weight
