"""Huffman coding: build the tree with a heap (ties broken by insertion
order so the code is deterministic), encode, decode, and compare sizes."""

import heapq

import kappa

TEXT = ("she sells sea shells by the sea shore; the shells she sells are "
        "surely seashells, so if she sells shells on the seashore")


def frequencies(text):
    freq = {}
    for ch in text:
        freq[ch] = freq.get(ch, 0) + 1
    return freq


def build(freq):
    heap = []
    order = 0
    for ch in sorted(freq):
        heap.append((freq[ch], order, ch))
        order += 1
    heapq.heapify(heap)
    while len(heap) > 1:
        f1, _, left = heapq.heappop(heap)
        f2, _, right = heapq.heappop(heap)
        kappa.checkpoint()
        heapq.heappush(heap, (f1 + f2, order, (left, right)))
        order += 1
    return heap[0][2]


def codes(node, prefix, table):
    if isinstance(node, str):
        table[node] = prefix or "0"
        return table
    codes(node[0], prefix + "0", table)
    codes(node[1], prefix + "1", table)
    return table


def encode(text, table):
    bits = []
    for ch in text:
        bits.append(table[ch])
    return "".join(bits)


def decode(bits, tree):
    out, node = [], tree
    for bit in bits:
        node = node[int(bit)]
        if isinstance(node, str):
            out.append(node)
            node = tree
    return "".join(out)


def main():
    tree = build(frequencies(TEXT))
    table = codes(tree, "", {})
    bits = encode(TEXT, table)
    for ch in sorted(table, key=lambda c: (len(table[c]), c))[:6]:
        print(repr(ch), table[ch])
    print("bits:", len(bits), "vs", 8 * len(TEXT), "round trip:", decode(bits, tree) == TEXT)
    return bits[:64]
