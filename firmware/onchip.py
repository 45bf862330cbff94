# On-chip training: the seed's serial weight perturbation, per pattern, forward
# difference (Jabri & Flower 1992), run entirely on the board.
#
# The host sends the data set as codes (inputs as DAC codes, labels, the ADC codes of the
# low and high targets) and
# the hyperparameters in code units; weights are kept as fixed-point codes. For each
# pattern: measure E at the rounded weights, then each weight perturbed by pert_k
# (downwards at the upper limit): g_k = (E_k - E) / d_k; then w -= lr_k * g_k, clipped to
# the limits. The step itself is compiled (kernels.py, its buffers in hot.py).
# After each epoch the whole set is evaluated and a progress EVENT frame is sent.
# Between patterns the line is polled: STOP ends the run, PING/STATUS are answered.
import json

from hot import Hot
from protocol import (
    ERR_BAD_PAYLOAD,
    ERR_RANGE,
    F_EVENT,
    F_REPLY,
    HEADER_SIZE,
    OVERHEAD,
    TRAIN,
    encode_into,
)
from rig import ProtoError

INF = float("inf")

_REQUIRED = ("inputs", "labels", "target_codes", "lr", "pert", "codes", "epochs")
_OPTIONAL = {"max_queries": 0, "target_accuracy": 1.0, "target_loss": 0.0, "threshold": 0,
             "seed": 0, "shuffle": False}


def train(server, req, seq):
    job = parse_job(req, server.rig)      # all of it, before anything is written or sent
    run = Run(server, job, seq)
    server.training, server.stop_requested = True, False
    try:
        stop = run.loop()
    finally:
        server.training = False
    return server.put_json({"stop": stop, "epochs": run.epoch, "queries": run.queries,
                            "loss": run.loss, "accuracy": run.accuracy, "codes": run.codes()})


def _bad(message):
    raise ProtoError(ERR_BAD_PAYLOAD, "TRAIN: " + message)


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x):
    return (_is_int(x) or isinstance(x, float)) and x == x and x not in (INF, -INF)


def _ints(job, key, n):
    v = job[key]
    if not isinstance(v, list) or len(v) != n or not all(_is_int(x) for x in v):
        _bad("%s must be a list of %d ints" % (key, n))
    return v


def parse_job(req, rig):
    """The TRAIN request checked whole (PROTOCOL.md): BAD_PAYLOAD or RANGE, or the job."""
    try:
        job = json.loads(bytes(req))
    except ValueError as exc:
        _bad("not JSON: %s" % exc)
    if not isinstance(job, dict):
        _bad("the payload must be a JSON object")
    for k in job:
        if k not in _REQUIRED and k not in _OPTIONAL:
            _bad("unknown key %r" % k)
    for k in _REQUIRED:
        if k not in job:
            _bad("missing key %r" % k)
    for k in _OPTIONAL:
        job.setdefault(k, _OPTIONAL[k])
    n_out = len(rig.outputs)
    labels = job["labels"]
    if not isinstance(labels, list) or not labels:
        _bad("labels must be a non-empty list of ints")
    top = 1 if n_out == 1 else n_out - 1
    for x in labels:
        if not _is_int(x) or not 0 <= x <= top:
            _bad("labels must be ints 0..%d, not %r" % (top, x))
    inputs = _ints(job, "inputs", len(labels) * rig.n_in)
    codes = _ints(job, "codes", rig.n_w)
    pert = _ints(job, "pert", rig.n_w)
    for k, n in (("lr", rig.n_w), ("target_codes", 2)):
        v = job[k]
        if not isinstance(v, list) or len(v) != n or not all(_is_number(x) for x in v):
            _bad("%s must be a list of %d numbers" % (k, n))
    if any(x < 0 for x in job["lr"]):
        _bad("lr must be >= 0")
    for k in ("epochs", "max_queries", "seed"):
        if not _is_int(job[k]) or job[k] < (k == "epochs"):
            _bad("%s must be an int >= %d" % (k, k == "epochs"))
    for k in ("target_accuracy", "target_loss", "threshold"):
        if not _is_number(job[k]):
            _bad("%s must be a number" % k)
    if not 0 <= job["target_accuracy"] <= 1 or job["target_loss"] < 0:
        _bad("target_accuracy must be in 0..1 and target_loss >= 0")
    if not isinstance(job["shuffle"], bool):
        _bad("shuffle must be true or false")
    for c in inputs:
        rig.check(c, "input")
    for c in codes:
        rig.check(c, "start weight")
    widest = (rig.hi - rig.lo) // 2      # a code perturbed up or down stays in the limits
    for d in pert:
        if not 1 <= d <= widest:
            raise ProtoError(ERR_RANGE, "TRAIN: pert %d outside 1..%d (half the limits)"
                             % (d, widest))
    return job


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
        self.labels = job["labels"]
        self.n_out = len(rig.outputs)
        self.patterns = len(self.labels)
        self.targets = targets(job["target_codes"], self.labels, self.n_out)
        self.epochs = job["epochs"]
        self.max_queries = job["max_queries"]
        self.target_accuracy = job["target_accuracy"]
        self.target_loss = job["target_loss"]
        self.threshold = job["threshold"]
        self.shuffle = job["shuffle"]
        # a PRNG of its own (xorshift32): the global one may be a simulated circuit's noise
        self.rng = (job["seed"] * 2654435761 + 1) & 0xFFFFFFFF or 1
        self.epoch = self.queries = 0
        self.loss, self.accuracy = 0.0, 0.0
        # the progress JSON: ~100 bytes of numbers, then the codes (at most "4095, " each)
        self.event = bytearray(OVERHEAD + 160 + 6 * rig.n_w)
        self.order = list(range(self.patterns))
        # the inner loop's buffers, and its compiled kernels (kernels.py, hot.py)
        self.hot = Hot(rig, job["inputs"], self.targets, job["codes"], job["lr"], job["pert"],
                       self.n_out)
        self.hot.idle = self.idle
        self.pending = None             # the last epoch's progress, not yet sent
        self.silent = False             # the host's silence, as the last idle() saw it
        self.total, self.right, self.scored = 0.0, 0, -1

    def next_random(self):
        x = self.rng
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.rng = x
        return x

    def codes(self):
        return self.hot.codes_now()

    def step(self, p):
        self.hot.step(self.hot, p, self.rig.n_w)
        self.rig.safe_state = False
        self.queries += self.rig.n_w + 1

    def evaluate(self):
        """The whole set at the current codes: each pattern's error and prediction are
        taken while the next pattern's pass settles (idle), the last one's after it."""
        hot = self.hot
        self.total, self.right, self.scored = 0.0, 0, -1
        for p in range(self.patterns):
            hot.step(hot, p, 0)
            self.scored = p             # hot.out holds pattern p's readings until the next
        self.score()
        self.queries += self.patterns
        self.loss = self.total / (self.patterns * self.n_out)
        self.accuracy = self.right / self.patterns

    def score(self):
        p, self.scored = self.scored, -1
        if p < 0:
            return
        out, t, n_out = self.hot.out, self.targets, self.n_out
        for o in range(n_out):
            d = out[o] - t[p * n_out + o]
            self.total += d * d
        self.right += self.predict(out) == self.labels[p]

    def predict(self, out):
        if self.n_out == 1:
            return 1 if out[0] > self.threshold else 0
        best, label = -1, 0
        for o in range(self.n_out):
            if out[o] > best:
                best, label = out[o], o
        return label

    def idle(self):
        """Called by the step while the circuit settles for its first pass (kernels.step):
        the last epoch's progress frame goes out, and the line is polled (STOP, PING)."""
        self.score()
        if self.pending is not None:
            self.send_progress(self.pending)
            self.pending = None
        while self.server.io.readable(0):
            self.server.step(0)
        self.silent = self.server.host_silent()

    def host_gone(self):
        """The safety rule holds during TRAIN too: a silent host stops the run, DACs safe
        (the silence is checked during the step, idle; the DACs go safe after it)."""
        if not self.silent:
            return False
        self.server.silence_trip()
        return True

    def loop(self):
        try:
            return self.epochs_loop()
        finally:
            if self.pending is not None:
                self.send_progress(self.pending)
                self.pending = None

    def epochs_loop(self):
        while True:
            if self.shuffle:
                for i in range(self.patterns - 1, 0, -1):
                    j = self.next_random() % (i + 1)
                    self.order[i], self.order[j] = self.order[j], self.order[i]
            for p in self.order:
                self.step(p)
                if self.server.stop_requested:
                    self.evaluate()
                    return "stopped"
                if self.host_gone():
                    return "host_silent"
            self.evaluate()
            self.epoch += 1
            # sent while the next step's first pass settles (idle), or when the run ends
            self.pending = {"epoch": self.epoch, "loss": self.loss, "accuracy": self.accuracy,
                            "queries": self.queries, "codes": self.codes()}
            if self.accuracy >= self.target_accuracy and (
                    self.target_loss <= 0 or self.loss <= self.target_loss):
                return "converged"
            if self.epoch >= self.epochs:
                return "max_epochs"
            if self.max_queries and self.queries >= self.max_queries:
                return "max_queries"

    def send_progress(self, progress):
        data = json.dumps(progress).encode()
        self.event[HEADER_SIZE:HEADER_SIZE + len(data)] = data
        n = encode_into(self.event, TRAIN, self.seq, len(data), F_REPLY | F_EVENT)
        self.server.io.write(memoryview(self.event)[:n])
