// The I2C bus at pin level: the chips seen by code that bit-bangs SDA/SCL as GPIOs.
//
// Two things never reach rp2040js's I2C peripheral callbacks: MicroPython's zero-length
// writes (I2C.scan(): the RP2040's I2C block cannot send an address alone, so the rp2 port
// bit-bangs it with SoftI2C on the same pins) and the MCP4728 address commands, whose LDAC
// timing only a bit-banged transfer can meet. The pins are open drain with pull-ups: a
// line is low while the Pico drives it low or a chip pulls it (ACK, a 0 bit it sends).
//
// Decoded as the I2C-bus specification (NXP UM10204) has it: SDA falling while SCL is high is
// a (repeated) Start, rising a Stop; bits are sampled at SCL's rise; the 9th clock is the
// ACK. Targets see every SCL edge with its position (byte index counted across repeated
// starts, clock 1..9, SCL level), which is what the MCP4728's LDAC notes are written against.
// drivers/chipmodels/i2c.py is the same decoder in Python.
import { GPIOPinState } from './rp.mjs';

/** A device that only answers its address (scans reach the ADS1115 this way). */
class AddressOnly {
  constructor(address) { this.address = address; }
  start() {}
  stop() {}
  edge() {}
  received(index, value, isAddress) { return isAddress && index === 0 && (value >> 1) === this.address; }
  nextReadByte() { return 0xff; }
}

export class GpioI2cResponder {
  constructor(mcu, sda, scl, bench) {
    this.mcu = mcu;
    this.sdaPin = mcu.gpio[sda];
    this.sclPin = mcu.gpio[scl];
    this.targets = [...bench.chips];
    if (bench.ads) this.targets.push(new AddressOnly(bench.config.ads1115));
    this.pulls = new Set();     // targets holding SDA low
    this.scl = true;
    this.sda = true;
    this.active = false;
    this.index = -1;
    this.clockNo = 0;
    this.bits = 0;
    this.addressNext = false;
    this.reading = false;
    this.readers = [];          // [target, byte it sends]
    this.acked = [];
    this.lastRise = null;
    this.periodNs = Infinity;   // from the previous SCL rise to the latest
    this.sdaPin.addListener(() => this.update());
    this.sclPin.addListener(() => this.update());
    for (const chip of bench.chips) chip.attachPins(mcu, this);
    this.drive();
  }

  get now() {
    return this.mcu.clock.nanos;
  }

  get position() {
    return { index: this.index, clock: this.clockNo, high: this.scl };
  }

  drive() {
    this.sdaPin.setInputValue(this.sdaPin.value !== GPIOPinState.Low && this.pulls.size === 0);
    this.sclPin.setInputValue(this.sclPin.value !== GPIOPinState.Low);
  }

  /** A target pulls SDA low (or lets it go). */
  pull(target, low) {
    if (low) this.pulls.add(target);
    else this.pulls.delete(target);
    this.sda = this.sdaPin.value !== GPIOPinState.Low && this.pulls.size === 0;
    this.drive();
  }

  update() {
    const scl = this.sclPin.value !== GPIOPinState.Low;
    const sda = this.sdaPin.value !== GPIOPinState.Low && this.pulls.size === 0;
    if (scl !== this.scl) {
      this.scl = scl;
      this.sda = sda;
      if (this.active) {
        if (scl) this.rise();
        else this.fall();
      }
    } else if (sda !== this.sda) {
      this.sda = sda;
      if (scl && !sda) this.start();
      else if (scl && sda && this.active) this.stop();
    }
    this.sda = this.sdaPin.value !== GPIOPinState.Low && this.pulls.size === 0;
    this.drive();
  }

  start() {
    const repeated = this.active;
    if (repeated && this.clockNo === 1) this.index -= 1;   // the Sr's SCL rise was no data clock
    this.active = true;
    this.clockNo = 0;
    this.bits = 0;
    this.addressNext = true;
    this.reading = false;
    this.releaseAll();
    for (const t of this.targets) t.start(repeated);
  }

  stop() {
    this.active = false;
    this.releaseAll();
    for (const t of this.targets) t.stop();
    this.index = -1;
    this.clockNo = 0;
  }

  releaseAll() {
    this.pulls.clear();
    this.readers = [];
    this.acked = [];
  }

  rise() {
    const now = this.now;
    this.periodNs = this.lastRise === null ? Infinity : now - this.lastRise;
    this.lastRise = now;
    this.clockNo += 1;
    if (this.clockNo === 1) {
      this.index += 1;
      this.bits = 0;
    }
    if (this.clockNo <= 8) this.bits = (this.bits << 1) | (this.sda ? 1 : 0);
    const pos = this.position;
    for (const t of this.targets) t.edge(pos);
  }

  fall() {
    const pos = this.position;
    for (const t of this.targets) t.edge(pos);
    if (this.clockNo === 8) this.byteDone();
    else if (this.clockNo === 9) this.ackDone();
    else if (this.reading && this.clockNo >= 1 && this.clockNo < 8) this.sendBit(7 - this.clockNo);
  }

  byteDone() {
    if (this.reading) {
      for (const [t] of this.readers) this.pulls.delete(t);
      return;
    }
    const isAddress = this.addressNext;
    this.addressNext = false;
    this.acked = this.targets.filter((t) => t.received(this.index, this.bits & 0xff, isAddress));
    for (const t of this.acked) this.pulls.add(t);
    this.reading = isAddress && (this.bits & 1) === 1 && this.acked.length > 0;
  }

  ackDone() {
    const masterAck = this.readers.length > 0 && !this.sda;
    this.pulls.clear();
    this.clockNo = 0;
    if (this.reading && (this.acked.length || masterAck)) {
      const sources = this.acked.length ? this.acked : this.readers.map(([t]) => t);
      this.readers = sources.map((t) => [t, t.nextReadByte()]);
      this.acked = [];
      this.sendBit(7);
    } else {
      this.reading = false;
      this.readers = [];
      this.acked = [];
    }
  }

  sendBit(bit) {
    for (const [t, byte] of this.readers) {
      if ((byte >> bit) & 1) this.pulls.delete(t);
      else this.pulls.add(t);
    }
  }
}
