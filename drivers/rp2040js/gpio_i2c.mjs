// The I2C bus at pin level: the chips seen by code that bit-bangs SDA/SCL as GPIOs.
//
// Two things never reach rp2040js's I2C peripheral callbacks: MicroPython's zero-length
// writes (I2C.scan(): the RP2040's I2C block cannot send an address alone, so the rp2 port
// bit-bangs it with SoftI2C on the same pins) and the MCP4728 address command, whose LDAC
// timing only a bit-banged transfer can meet. The pins are open drain with pull-ups: a
// line is low while the Pico drives it low or a chip pulls it (ACK). Only addresses are
// acknowledged and written bytes delivered; a bit-banged read gets 0xFF.
import { GPIOPinState } from './rp.mjs';

export class GpioI2cResponder {
  constructor(mcu, sda, scl, bench) {
    this.mcu = mcu;
    this.sdaPin = mcu.gpio[sda];
    this.sclPin = mcu.gpio[scl];
    this.bench = bench;
    this.pull = false;          // a chip holds SDA low (ACK)
    this.state = 'idle';        // idle | bits | ack | ignore
    this.scl = true;
    this.sda = true;
    this.sdaPin.addListener(() => this.update());
    this.sclPin.addListener(() => this.update());
    this.drive();
  }

  drive() {
    this.sdaPin.setInputValue(this.sda);
    this.sclPin.setInputValue(this.scl);
  }

  update() {
    const scl = this.sclPin.value !== GPIOPinState.Low;
    const sda = this.sdaPin.value !== GPIOPinState.Low && !this.pull;
    const [wasScl, wasSda] = [this.scl, this.sda];
    this.scl = scl;
    this.sda = sda;
    if (scl && wasScl && sda !== wasSda) {
      if (!sda) this.start();
      else this.stop();
    } else if (scl && !wasScl) {
      this.rise();
    } else if (!scl && wasScl) {
      this.fall();
    }
    this.sda = this.sdaPin.value !== GPIOPinState.Low && !this.pull;
    this.drive();
  }

  ldacLevels() {
    return this.bench.chips.map((c) => c.ldacHigh());
  }

  start() {
    this.state = 'bits';
    this.bytes = [];
    this.bit = 0;
    this.byte = 0;
    this.ldac = { before: null, at8: null, at3: null };
    this.pull = false;
  }

  stop() {
    this.pull = false;
    if (this.state !== 'idle' && this.bytes.length > 1 && !(this.bytes[0] & 1)) this.deliver();
    this.state = 'idle';
  }

  rise() {
    if (this.state !== 'bits') return;
    this.byte = (this.byte << 1) | (this.sda ? 1 : 0);
    this.bit += 1;
    if (this.bytes.length === 1 && this.bit === 1) this.ldac.before = this.ldacLevels();
  }

  fall() {
    if (this.state === 'ack') {
      this.pull = false;
      this.state = this.bytes[0] & 1 ? 'ignore' : 'bits';
      this.bit = 0;
      this.byte = 0;
      return;
    }
    if (this.state !== 'bits' || this.bit !== 8) return;
    this.bytes.push(this.byte);
    if (this.bytes.length === 2) this.ldac.at8 = this.ldacLevels();
    if (this.bytes.length === 3) this.ldac.at3 = this.ldacLevels();
    const address = this.bytes[0] >> 1;
    const present = address === 0 || this.bench.at(address).length > 0;
    this.state = present ? 'ack' : 'ignore';
    this.pull = present;
  }

  deliver() {
    const address = this.bytes[0] >> 1;
    const data = this.bytes.slice(1);
    for (const chip of this.bench.chips) {
      if (chip.address !== address) continue;
      const i = chip.index;
      const ldac = { before: this.ldac.before?.[i], at8: this.ldac.at8?.[i], at3: this.ldac.at3?.[i] };
      if ((data[0] & 0xe0) === 0x60) chip.addressWrite(data, ldac);
      else chip.write(data);
    }
  }
}
