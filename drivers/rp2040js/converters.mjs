// The bench's converters on the emulated Pico: MCP4728 DACs and an ADS1115 on I2C0, the
// RP2040 ADC inputs driven by the simulated analog network.
//
// The chips decode the same bytes real ones take (firmware/sim/fake_i2c.py decodes them the
// same way under the unix port). The network itself is not here: when an ADC conversion
// follows a DAC change, the DAC codes go to the Python side (the numpy model mock:// uses,
// one board instance per board_seed) and its noise-free ADC levels come back; read noise,
// drift and DNL are added here per conversion, as firmware/sim does.
//
// A recurrent bench's circuit has state that evolves in time, so the Python side is told
// *when* things happen, in emulated nanoseconds: every DAC update (`D t codes`), every edge
// of the capacitor reset line (`R t level`), and every conversion asks for the levels at
// its own instant (`S t`): the bridge integrates the network's dynamics between them.
import { GPIOPinState, I2CMode } from './rp.mjs';
import { GpioI2cResponder } from './gpio_i2c.mjs';
import { Mcp4728 } from './mcp4728.mjs';

const R_TX_EMPTY = 1 << 4;

/** A seeded 32-bit generator (mulberry32): reproducible read noise per seed. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

// ADS1115 single-shot timing (TI SBAS444E), as drivers/chipmodels/ads1115.py models it: a
// Config write with OS = 1 starts a conversion lasting 25 us + 1.1/DR (start-up and the
// data-rate tolerance taken at their worst, HARDWARE-FACTS "Unverified"); Config reads give
// OS = 0 until it ends (Config register bit 15); the Conversion register holds the previous
// result until then (a read that early is logged: the firmware must poll OS).
const DATA_RATES = [8, 16, 32, 64, 128, 250, 475, 860];

export class Ads1115 {
  constructor(bench) {
    this.bench = bench;
    this.reg = 0;
    this.config = 0x8583;
    this.result = 0;
    this.next = 0;
    this.doneAt = -1;
    this.out = [];
  }

  converting() {
    const now = this.bench.mcu.clock.nanos;
    if (this.doneAt >= 0 && now >= this.doneAt) {
      this.result = this.next;
      this.doneAt = -1;
    }
    return this.doneAt >= 0;
  }

  write(bytes) {
    this.reg = bytes[0] & 3;
    if (this.reg === 1 && bytes.length >= 3) {
      this.config = (bytes[1] << 8) | bytes[2];
      if ((this.config & 0x8000) && (this.config & 0x0100) && !this.converting()) {
        const channel = ((this.config >> 12) & 7) - 4;
        this.next = channel >= 0 ? this.bench.convert(channel) : 0;
        const rate = DATA_RATES[(this.config >> 5) & 7];
        this.doneAt = this.bench.mcu.clock.nanos + 25e3 + 1.1e9 / rate;
      }
    }
  }

  startRead() {
    const busy = this.converting();
    if (this.reg === 1) {
      const value = (this.config & 0x7fff) | (busy ? 0 : 0x8000);
      this.out = [value >> 8, value & 0xff];
      return;
    }
    if (busy) this.bench.link.send('log ADS1115: Conversion register read before the conversion ended');
    this.out = this.reg === 0 ? [(this.result >> 8) & 0xff, this.result & 0xff] : [0, 0];
  }

  readByte() {
    return this.out.length ? this.out.shift() : 0xff;
  }
}

export class Bench {
  constructor(config, link) {
    this.config = config;
    this.link = link;
    const adc = config.adc;
    this.adcFull = (1 << adc.bits) - 1;
    this.noise = adc.noise_lsb;
    this.driftStep = adc.drift_step;
    this.drift = new Float64Array(8);
    this.quantiles = Float64Array.from(adc.quantiles);
    this.dnl = Uint16Array.from(adc.dnl_lut);
    this.random = generator(adc.seed);
    this.levels = new Array(8).fill((this.adcFull + 1) / 2);
    this.dirty = true;
    this.chips = config.chips.map((c, i) => new Mcp4728(i, c.address, c.ldac_gpio, this));
    this.ads = config.ads1115 ? new Ads1115(this) : null;
    this.conversions = 0;
    this.recurrent = config.recurrent || null;
    this.busNs = 0;          // bus time of the I2C transfer being decoded (recurrent benches)
    this.dacPending = -1;    // emulated time a DAC update lands, not yet sent (recurrent)
  }

  /** The devices answering at a 7-bit address. */
  at(address) {
    const found = this.chips.filter((c) => c.address === address);
    if (this.ads && address === this.config.ads1115) found.push(this.ads);
    return found;
  }

  attach(mcu) {
    this.mcu = mcu;
    for (const chip of this.chips) chip.mcu = mcu;
    this.attachI2c(mcu.i2c[this.config.i2c.bus]);
    this.gpio = new GpioI2cResponder(mcu, this.config.i2c.sda, this.config.i2c.scl, this);
    if (this.recurrent && this.recurrent.reset_gpio >= 0) {
      const pin = mcu.gpio[this.recurrent.reset_gpio];
      let closed = false;
      pin.addListener(() => {
        // the DG412s close while the line is driven high (a pull-down holds it low)
        const high = pin.value === GPIOPinState.High;
        if (high === closed) return;
        closed = high;
        this.syncDac();
        this.link.send(`R ${mcu.clock.nanos} ${high ? 1 : 0}`);
      });
    }
    const adc = mcu.adc;
    const stock = adc.onADCRead;
    adc.onADCRead = (channel) => {
      if (!this.ads && channel < 4) adc.channelValues[channel] = this.convert(channel);
      stock(channel);
    };
  }

  attachI2c(i2c) {
    // stock rp2040js raises no TX_EMPTY on an abort; the SDK waits for it, so a NACK
    // would end in a timeout (OSError 110) instead of EIO (5) as on a real Pico
    const abort = i2c.abort.bind(i2c);
    i2c.abort = (reason) => {
      abort(reason);
      i2c.setInterrupts(R_TX_EMPTY);
    };
    let targets = [];
    let written = [];
    const flush = () => {
      if (written.length) {
        // rp2040js moves I2C bytes in no emulated time; on the wire the transfer lasts
        // (address + data bytes) x 9 clocks + Start/Stop at the bus clock, and a DAC update
        // lands at its end: recurrent benches date it there (a sample before that instant
        // cannot happen on a Pico, whose CPU waits for the transfer)
        if (this.recurrent) this.busNs = ((written.length + 1) * 9 + 2) * 1e9 / this.recurrent.i2c_hz;
        for (const t of targets) t.write(written);
        this.busNs = 0;
        this.syncDac();
      }
      written = [];
    };
    i2c.onStart = () => {
      flush();
      i2c.completeStart();
    };
    i2c.onConnect = (address, mode) => {
      targets = this.at(address);
      if (mode === I2CMode.Read) for (const t of targets) t.startRead();
      i2c.completeConnect(targets.length > 0);
    };
    i2c.onWriteByte = (value) => {
      written.push(value);
      i2c.completeWrite(true);
    };
    i2c.onReadByte = () => {
      // several chips at one address drive the bus together: open drain, wired AND
      let value = 0xff;
      for (const t of targets) value &= t.readByte();
      i2c.completeRead(value);
    };
    i2c.onStop = () => {
      flush();
      targets = [];
      i2c.completeStop();
    };
  }

  dacChanged() {
    this.dirty = true;
    if (this.recurrent) {
      this.dacPending = this.mcu.clock.nanos + this.busNs;
      if (!this.busNs) this.syncDac();      // an LDAC edge, not an I2C transfer
    }
  }

  /** Recurrent benches: tell the bridge the DAC codes and the instant they took effect. */
  syncDac() {
    if (this.dacPending < 0) return;
    const codes = this.chips.flatMap((c) => c.codes);
    this.link.send(`D ${this.dacPending} ${codes.join(' ')}`);
    this.dacPending = -1;
  }

  /** One ADC conversion of `channel`: the network's level plus drift, noise, DNL. */
  convert(channel) {
    if (this.recurrent) {
      // the state at this instant: the bridge integrates the dynamics up to it
      this.syncDac();
      this.link.send(`S ${this.mcu.clock.nanos}`);
      this.levels = this.link.receive().split(' ').map(Number);
      this.dirty = false;
    } else if (this.dirty) {
      const codes = this.chips.flatMap((c) => c.codes);
      this.link.send(`L ${codes.join(' ')}`);
      this.levels = this.link.receive().split(' ').map(Number);
      this.dirty = false;
    }
    this.conversions += 1;
    let x = this.levels[channel] ?? (this.adcFull + 1) / 2;
    if (this.driftStep) {
      this.drift[channel] += this.driftStep * this.quantiles[this.random() >>> 20];
      x += this.drift[channel];
    }
    if (this.noise) x += this.noise * this.quantiles[this.random() >>> 20];
    if (x < 0) return this.dnl[0];
    const code = Math.floor(x + 0.5);
    return this.dnl[code < this.adcFull ? code : this.adcFull];
  }

  /** A chip took a new address (written to its EEPROM): the Python side keeps it. */
  addressChanged(chip) {
    this.link.send(`addr ${chip.index} ${chip.address}`);
  }
}
