package harness

// Python pieces the workloads share (a program imports json, time,
// urllib.request and kappa's call_external, checkpoint, spawn, wait).

// SpawnTree: tree(depth, fanout, label) spawns a tree of tasks whose
// leaves checkpoint and return their labels; it returns their sum.
const SpawnTree = `
def tree(depth, fanout, label):
    if depth == 0:
        time.sleep(0.2)
        checkpoint()
        return label
    futures = []
    for k in range(fanout):
        futures.append(spawn(tree, (depth - 1, fanout, label * fanout + k)))
    return sum(wait(futures))
`

// ExternalEffects: effects(service, first, n) POSTs items first..first+n-1
// to the receiver, each as an exactly-once external call (post).
const ExternalEffects = `
def post(call, service, item):
    request = urllib.request.Request(service, method="POST", data=json.dumps({"item": item}).encode(),
                                     headers={"Content-Type": "application/json", **call.headers()})
    with urllib.request.urlopen(request, timeout=60) as reply:
        json.loads(reply.read())
    return item

def effects(service, first, n):
    done = []
    for item in range(first, first + n):
        done.append(call_external(post, service, item))
    return done
`
