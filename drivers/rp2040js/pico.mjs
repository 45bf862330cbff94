// The emulated Pico: MicroPython's RP2040 build running on rp2040js, instruction by
// instruction, with the bench's converters on its buses.
//
//   node pico.mjs CONFIG.json
//
// stdin/stdout carry the USB CDC serial line (raw bytes both ways). The pipe on fd
// $WPHIL_EVENTS_FD carries lines to the Python side (events, and requests for the analog
// network's levels); $WPHIL_REPLIES_FD carries its replies, read synchronously: while Python computes, the emulated CPU is paused and its
// time does not advance, as if the circuit settled instantly. CONFIG is written by
// drivers/rp2040_board.py (paths, converters, noise).
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { RP2040 } from './rp.mjs';
import { FlashImage, patchedBootrom } from './flash.mjs';
import { SerialRelay } from './usb.mjs';
import { Bench } from './converters.mjs';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const EVENTS = Number(process.env.WPHIL_EVENTS_FD);    // to Python: events, requests
const REPLIES = Number(process.env.WPHIL_REPLIES_FD);  // from Python: replies
const CHUNK_INSTRUCTIONS = 20000;     // between checks of wall time and I/O
const SLICE_MS = 5;                   // the longest the emulator holds the event loop

function send(line) {
  fs.writeSync(EVENTS, `${line}\n`);
}

/** One line from the Python side, read synchronously (this is the paused CPU). */
const replyBuf = Buffer.alloc(65536);
let replyTail = '';
function receive() {
  for (;;) {
    const nl = replyTail.indexOf('\n');
    if (nl >= 0) {
      const line = replyTail.slice(0, nl);
      replyTail = replyTail.slice(nl + 1);
      return line;
    }
    let n;
    try {
      n = fs.readSync(REPLIES, replyBuf, 0, replyBuf.length, null);
    } catch (err) {
      if (err.code === 'EAGAIN') continue;
      throw err;
    }
    if (n === 0) shutdown(0);
    replyTail += replyBuf.toString('latin1', 0, n);
  }
}

const rom = patchedBootrom(config.bootrom);
const flash = new FlashImage(config.flash_image, config.uf2);
const relay = new SerialRelay((data) => process.stdout.write(data));
relay.onConnected = () => send('usb'); 
const bench = new Bench(config, { send, receive });
// rp2040js logs to the console, whose stdout is the serial line here. Its warnings
// (unimplemented QSPI/SSI registers, ROM mirror reads) are expected on every boot: they go
// to stderr only with WPHIL_RP2040_DEBUG set; errors always do.
const debug = !!process.env.WPHIL_RP2040_DEBUG;
const logger = {
  debug() {},
  info() {},
  warn(name, msg) { if (debug) process.stderr.write(`rp2040js warn ${name}: ${msg}\n`); },
  error(name, msg) { process.stderr.write(`rp2040js error ${name}: ${msg}\n`); },
};
let mcu = null;
let wallStart = 0;        // performance.now() when emulated time was clockStart
let clockStart = 0;
let timer = null;
let boots = 0;

function boot() {
  const previous = mcu;
  mcu = new RP2040();
  mcu.loadBootrom(rom);              // loadBootrom resets the chip, which blanks its flash
  mcu.flash.set(previous ? previous.flash : flash.data);
  flash.data = mcu.flash;
  mcu.logger = logger;
  mcu.onBreak = (code) => {
    if (!flash.onBreak(code, mcu)) {
      const sp = mcu.core.SP;
      const frame = [0, 4, 8, 12, 16, 20, 24, 28].map((o) => mcu.readUint32(sp + o).toString(16));
      send(`log breakpoint ${code} at 0x${(mcu.core.PC - 2).toString(16)} (a fault handler?` +
        ` stacked r0-r3 r12 lr pc xpsr: ${frame.join(' ')}): core stopped`);
      mcu.core.waiting = true;
    }
  };
  const watchdog = mcu.peripherals[0x40058];
  watchdog.onWatchdogTrigger = () => setImmediate(reboot);
  relay.clear();
  relay.attach(mcu);
  bench.attach(mcu);
  mcu.core.PC = 0x10000000;         // boot2 from XIP: the ROM's SSI boot path is not emulated
  wallStart = performance.now();
  clockStart = mcu.clock.nanos;
  boots += 1;
  send(`boot ${boots}`);
}

function reboot() {
  flash.save();
  boot();
}

/** Emulated nanoseconds ahead of wall time (never let it run ahead: timeouts stay real). */
function ahead() {
  return (mcu.clock.nanos - clockStart) - (performance.now() - wallStart) * 1e6;
}

function run() {
  timer = null;
  const { core, clock } = mcu;
  const sliceEnd = performance.now() + SLICE_MS;
  const current = mcu;
  while (current === mcu) {
    for (let i = 0; i < CHUNK_INSTRUCTIONS && current === mcu; i++) {
      if (core.waiting) {
        const lead = ahead();
        if (lead >= 0) return schedule(lead / 1e6);
        const next = clock.nextAlarm;
        const toAlarm = next ? Math.max(0, next.nanos - clock.nanos) : Infinity;
        if (toAlarm <= -lead) {
          clock.tick(toAlarm);
          continue;
        }
        // nothing due before wall time catches up: only I/O can wake the core until then
        clock.tick(-lead);
        return schedule(Math.min(toAlarm / 1e6, 1));
      }
      const cycles = core.executeInstruction();
      clock.tick(cycles * 1e9 / mcu.clkSys);
    }
    if (performance.now() > sliceEnd) return schedule(0);
  }
  return schedule(0);
}

function schedule(ms) {
  if (!timer) timer = setTimeout(run, Math.max(0, Math.min(ms, 50)));
}

function wake() {
  if (timer) clearTimeout(timer);
  timer = null;
  setImmediate(() => { if (!timer) run(); });
}

function shutdown(code) {
  try {
    flash.save();
  } finally {
    process.exit(code);
  }
}

process.stdin.on('data', (chunk) => {
  relay.push(new Uint8Array(chunk));
  wake();
});
process.stdin.on('end', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
boot();
if (process.env.WPHIL_RP2040_TRACE) setInterval(() => process.stderr.write(`pc=${mcu.core.PC.toString(16)} waiting=${mcu.core.waiting} t=${(mcu.clock.nanos/1e6).toFixed(1)}ms usb=${relay.connected}\n`), 500);
schedule(0);
