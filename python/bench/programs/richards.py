"""Richards: the classic operating-system task scheduler simulation (after
pyperformance's bm_richards, condensed): task control blocks, packets,
idle/worker/handler/device tasks, method calls and attribute access."""

I_IDLE, I_WORK, I_HANDLERA, I_HANDLERB, I_DEVA, I_DEVB = 1, 2, 3, 4, 5, 6
K_DEV, K_WORK = 1000, 1001
BUFSIZE = 4


class Packet:
    def __init__(self, link, ident, kind):
        self.link = link
        self.ident = ident
        self.kind = kind
        self.datum = 0
        self.data = [0] * BUFSIZE

    def append_to(self, lst):
        self.link = None
        if lst is None:
            return self
        p = lst
        while p.link is not None:
            p = p.link
        p.link = self
        return lst


class TaskRec:
    pass


class DeviceTaskRec(TaskRec):
    def __init__(self):
        self.pending = None


class IdleTaskRec(TaskRec):
    def __init__(self):
        self.control = 1
        self.count = 10000


class HandlerTaskRec(TaskRec):
    def __init__(self):
        self.work_in = None
        self.device_in = None


class WorkerTaskRec(TaskRec):
    def __init__(self):
        self.destination = I_HANDLERA
        self.count = 0


class State:
    def __init__(self):
        self.tasks = [None] * 10
        self.task_list = None
        self.current = None
        self.hold_count = 0
        self.qpkt_count = 0


class Task:
    def __init__(self, state, ident, priority, wait, rec, packet_pending, task_waiting, task_holding):
        self.state = state
        self.link = state.task_list
        self.ident = ident
        self.priority = priority
        self.input = wait
        self.packet_pending = packet_pending
        self.task_waiting = task_waiting
        self.task_holding = task_holding
        self.handle = rec
        state.task_list = self
        state.tasks[ident] = self

    def is_held_or_suspended(self):
        return self.task_holding or (not self.packet_pending and self.task_waiting)

    def add_packet(self, packet, old):
        if self.input is None:
            self.input = packet
            self.packet_pending = True
            if self.priority > old.priority:
                return self
        else:
            packet.append_to(self.input)
        return old

    def run_task(self):
        if self.packet_pending and self.task_waiting and not self.task_holding:
            msg = self.input
            self.input = msg.link
            self.packet_pending = self.input is not None
            self.task_waiting = False
        else:
            msg = None
        return self.fn(msg, self.handle)

    def wait_task(self):
        self.task_waiting = True
        return self

    def hold(self):
        self.state.hold_count += 1
        self.task_holding = True
        return self.link

    def release(self, ident):
        t = self.state.tasks[ident]
        t.task_holding = False
        return t if t.priority > self.priority else self

    def qpkt(self, packet):
        t = self.state.tasks[packet.ident]
        self.state.qpkt_count += 1
        packet.link = None
        packet.ident = self.ident
        return t.add_packet(packet, self)


class DeviceTask(Task):
    def fn(self, packet, rec):
        if packet is None:
            packet = rec.pending
            if packet is None:
                return self.wait_task()
            rec.pending = None
            return self.qpkt(packet)
        rec.pending = packet
        return self.hold()


class HandlerTask(Task):
    def fn(self, packet, rec):
        if packet is not None:
            if packet.kind == K_WORK:
                rec.work_in = packet.append_to(rec.work_in)
            else:
                rec.device_in = packet.append_to(rec.device_in)
        work = rec.work_in
        if work is None:
            return self.wait_task()
        count = work.datum
        if count >= BUFSIZE:
            rec.work_in = work.link
            return self.qpkt(work)
        dev = rec.device_in
        if dev is None:
            return self.wait_task()
        rec.device_in = dev.link
        dev.datum = work.data[count]
        work.datum = count + 1
        return self.qpkt(dev)


class IdleTask(Task):
    def fn(self, packet, rec):
        rec.count -= 1
        if rec.count == 0:
            return self.hold()
        if rec.control & 1 == 0:
            rec.control //= 2
            return self.release(I_DEVA)
        rec.control = rec.control // 2 ^ 0xd008
        return self.release(I_DEVB)


class WorkTask(Task):
    def fn(self, packet, rec):
        if packet is None:
            return self.wait_task()
        dest = I_HANDLERB if rec.destination == I_HANDLERA else I_HANDLERA
        rec.destination = dest
        packet.ident = dest
        packet.datum = 0
        for i in range(BUFSIZE):
            rec.count += 1
            if rec.count > 26:
                rec.count = 1
            packet.data[i] = ord("A") + rec.count - 1
        return self.qpkt(packet)


def schedule(state):
    t = state.task_list
    while t is not None:
        if t.is_held_or_suspended():
            t = t.link
        else:
            t = t.run_task()


def run_once():
    state = State()
    IdleTask(state, I_IDLE, 1, None, IdleTaskRec(), False, False, False)
    wkq = Packet(None, 0, K_WORK)
    wkq = Packet(wkq, 0, K_WORK)
    WorkTask(state, I_WORK, 1000, wkq, WorkerTaskRec(), True, True, False)
    wkq = Packet(None, I_DEVA, K_DEV)
    wkq = Packet(wkq, I_DEVA, K_DEV)
    wkq = Packet(wkq, I_DEVA, K_DEV)
    HandlerTask(state, I_HANDLERA, 2000, wkq, HandlerTaskRec(), True, True, False)
    wkq = Packet(None, I_DEVB, K_DEV)
    wkq = Packet(wkq, I_DEVB, K_DEV)
    wkq = Packet(wkq, I_DEVB, K_DEV)
    HandlerTask(state, I_HANDLERB, 3000, wkq, HandlerTaskRec(), True, True, False)
    DeviceTask(state, I_DEVA, 4000, None, DeviceTaskRec(), False, True, False)
    DeviceTask(state, I_DEVB, 5000, None, DeviceTaskRec(), False, True, False)
    schedule(state)
    return state.hold_count, state.qpkt_count


def main(iterations=10):
    result = None
    for _ in range(iterations):
        result = run_once()
        if result != (9297, 23246):
            raise AssertionError(f"richards gave {result}")
    return result
