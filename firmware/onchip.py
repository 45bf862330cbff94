# On-chip training: the seed's serial weight perturbation, per pattern, forward
# difference (Jabri & Flower 1992), run entirely on the board.
#
# The host sends the data set as codes (inputs as DAC codes, labels, the ADC codes of the
# low and high targets) and
# the hyperparameters in code units; weights are kept as float codes. For each pattern:
# measure E at the rounded weights, then each weight perturbed by pert_k (downwards at
# the upper limit): g_k = (E_k - E) / d_k; then w -= lr_k * g_k, clipped to the limits.
# After each epoch the whole set is evaluated and a progress EVENT frame is sent.
# Between patterns the line is polled: STOP ends the run, PING/STATUS are answered.
import json

from protocol import ERR_BAD_PAYLOAD, F_EVENT, F_REPLY, HEADER_SIZE, OVERHEAD, TRAIN, encode_into
from rig import ProtoError

_KEYS = ("inputs", "target_codes", "labels", "lr", "pert", "codes", "epochs")


def train(server, req, seq):
    try:
        job = json.loads(bytes(req))
        for k in _KEYS:
            job[k]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtoError(ERR_BAD_PAYLOAD, "TRAIN: %s %s" % (type(exc).__name__, exc))
    run = Run(server, job, seq)
    server.training, server.stop_requested = True, False
    try:
        stop = run.loop()
    finally:
        server.training = False
    return server.put_json({"stop": stop, "epochs": run.epoch, "queries": run.queries,
                            "loss": run.loss, "accuracy": run.accuracy, "codes": run.codes()})


def targets(target_codes, labels, n_out):
    """Flat target ADC codes: high for the true class (one output: for label 1), else low."""
    low, high = target_codes
    out = []
    for label in labels:
        if n_out == 1:
            out.append(high if label == 1 else low)
        else:
            for o in range(n_out):
                out.append(high if o == label else low)
    return out


class Run:
    def __init__(self, server, job, seq):
        rig = server.rig
        self.server, self.rig, self.seq = server, rig, seq
        self.inputs = job["inputs"]
        self.labels = job["labels"]
        self.n_out = len(rig.outputs)
        self.patterns = len(self.labels)
        self.targets = targets(job["target_codes"], self.labels, self.n_out)
        self.lr, self.pert = job["lr"], job["pert"]
        if len(self.inputs) != self.patterns * rig.n_in or len(self.lr) != rig.n_w \
                or len(self.pert) != rig.n_w:
            raise ProtoError(ERR_BAD_PAYLOAD, "TRAIN: array sizes do not match the configuration")
        for c in self.inputs:
            rig.check(c, "input")
        self.w = [float(min(max(c, rig.lo), rig.hi)) for c in job["codes"]]
        self.epochs = job["epochs"]
        self.max_queries = job.get("max_queries", 0)
        self.target_accuracy = job.get("target_accuracy", 1.0)
        self.target_loss = job.get("target_loss", 0.0)
        self.threshold = job.get("threshold", 0)
        self.shuffle = job.get("shuffle", False)
        # a PRNG of its own (xorshift32): the global one may be a simulated circuit's noise
        self.rng = (job.get("seed", 0) * 2654435761 + 1) & 0xFFFFFFFF or 1
        self.epoch = self.queries = 0
        self.loss, self.accuracy = 0.0, 0.0
        self.buf = bytearray(2 * self.n_out)
        self.event = bytearray(OVERHEAD + 1024)
        self.order = list(range(self.patterns))

    def next_random(self):
        x = self.rng
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.rng = x
        return x

    def codes(self):
        return [int(x + 0.5) for x in self.w]

    def error(self, p):
        """Squared error of pattern p at the DACs as they are (codes^2, summed over outputs)."""
        self.rig.forward(self.inputs, p, self.buf, 0, self.rig.outputs)
        buf, t, e = self.buf, self.targets, 0.0
        for o in range(self.n_out):
            d = (buf[2 * o] | buf[2 * o + 1] << 8) - t[p * self.n_out + o]
            e += d * d
        return e, buf

    def step(self, p):
        rig, ch, dacs = self.rig, self.rig.weight_ch, self.rig.dacs
        base = self.codes()
        rig.load_weights(base)
        e0 = self.error(p)[0]
        grads = []
        for k in range(rig.n_w):
            d = self.pert[k] if base[k] + self.pert[k] <= rig.hi else -self.pert[k]
            dacs.set(ch[k], base[k] + d)
            grads.append((self.error(p)[0] - e0) / d)
            dacs.set(ch[k], base[k])
        for k in range(rig.n_w):
            self.w[k] = min(max(self.w[k] - self.lr[k] * grads[k] / self.n_out, rig.lo), rig.hi)
        self.queries += rig.n_w + 1

    def evaluate(self):
        self.rig.load_weights(self.codes())
        total, right = 0.0, 0
        for p in range(self.patterns):
            e, buf = self.error(p)
            total += e
            right += self.predict(buf) == self.labels[p]
        self.queries += self.patterns
        self.loss = total / (self.patterns * self.n_out)
        self.accuracy = right / self.patterns

    def predict(self, buf):
        if self.n_out == 1:
            return 1 if (buf[0] | buf[1] << 8) > self.threshold else 0
        best, label = -1, 0
        for o in range(self.n_out):
            y = buf[2 * o] | buf[2 * o + 1] << 8
            if y > best:
                best, label = y, o
        return label

    def poll_stop(self):
        while self.server.io.readable(0):
            self.server.step(0)
        return self.server.stop_requested

    def loop(self):
        while True:
            if self.shuffle:
                for i in range(self.patterns - 1, 0, -1):
                    j = self.next_random() % (i + 1)
                    self.order[i], self.order[j] = self.order[j], self.order[i]
            for p in self.order:
                self.step(p)
                if self.poll_stop():
                    self.evaluate()
                    return "stopped"
            self.evaluate()
            self.epoch += 1
            self.send_progress()
            if self.accuracy >= self.target_accuracy and (
                    self.target_loss <= 0 or self.loss <= self.target_loss):
                return "converged"
            if self.epoch >= self.epochs:
                return "max_epochs"
            if self.max_queries and self.queries >= self.max_queries:
                return "max_queries"

    def send_progress(self):
        data = json.dumps({"epoch": self.epoch, "loss": self.loss, "accuracy": self.accuracy,
                           "queries": self.queries, "codes": self.codes()}).encode()
        self.event[HEADER_SIZE:HEADER_SIZE + len(data)] = data
        n = encode_into(self.event, TRAIN, self.seq, len(data), F_REPLY | F_EVENT)
        self.server.io.write(memoryview(self.event)[:n])
