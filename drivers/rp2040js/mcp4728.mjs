// MCP4728 quad 12-bit DAC (Microchip DS22187E), byte for byte as the firmware drives it:
// Fast Write, Multi-Write, Sequential/Single Write (which also program the EEPROM, counted),
// Vref, Gain, Power-Down and the 24-byte read-back (Figure 5-15: RDY/BSY in bit 7, POR in
// bit 6 of each channel's first byte) through the RP2040's I2C block; and, at pin level
// through gpio_i2c.mjs, "Write I2C Address Bits" (Figure 5-11, C2:C0 = 011) and "General
// Call Read Address Bits" (sec. 5.4.4, Figure 5-6). Those two take part only when the chip's
// own LDAC pin follows notes 2a/2b of the figures, checked edge by edge:
//   2a  LDAC high from the Start until the 8th clock of the 2nd byte has fallen;
//   2b  LDAC falls in that clock's low phase, before the 9th clock rises, and stays low
//       until the 9th clock of the 3rd byte rises;
//   2c  otherwise the chip does not acknowledge the 3rd byte, and programs nothing.
// The EEPROM write the address command starts (at the falling edge of the 4th byte's ACK,
// note 4) keeps RDY/BSY low for EEPROM_WRITE_NS (DS22187E p. 6, Electrical Characteristics:
// 25 ms typ, 50 ms max; the maximum here). A write to the chip while it is busy is logged
// and ignored: the datasheet gives no behaviour for it. drivers/chipmodels/mcp4728.py is
// the same model in Python.
import { GPIOPinState } from './rp.mjs';

const BASE_ADDRESS = 0x60;   // 1100 A2 A1 A0
const GENERAL_CALL = 0x00;
const READ_ADDRESS_BITS = 0x0c;
const EEPROM_WRITE_NS = 50e6;
const MIN_PERIOD_NS = 2500 * 0.999;     // sec. 5.4.4: the address commands run at <= 400 kHz

/** Notes 2a/2b for one transfer (chipmodels.mcp4728.LdacWindow). */
class LdacWindow {
  constructor(high) {
    this.ok = high;
    this.fell = false;
    this.closed = false;
    this.reason = high ? '' : 'LDAC was low at the Start (note 2a)';
  }

  fail(why) {
    if (this.ok && !this.closed) {
      this.ok = false;
      this.reason = why;
    }
  }

  ldacChanged(high, pos) {
    if (this.closed) return;
    const where = `byte ${pos.index + 1} clock ${pos.clock} (SCL ${pos.high ? 'high' : 'low'})`;
    if (!high) {
      if (pos.index === 1 && pos.clock === 8 && !pos.high) this.fell = true;
      else this.fail(`LDAC fell at ${where}, not in the low phase of the 8th clock of byte 2 (note 2a/2b)`);
    } else if (this.fell) {
      this.fail(`LDAC rose at ${where}, before the 9th clock of byte 3 (note 2b)`);
    }
  }

  clockRose(pos) {
    if (this.closed) return;
    if (pos.index === 1 && pos.clock === 9 && !this.fell) {
      this.fail('LDAC had not fallen when the 9th clock of byte 2 rose (note 2b)');
    }
    if (pos.index === 2 && pos.clock === 9) this.closed = true;
  }
}

export class Mcp4728 {
  constructor(index, address, ldacGpio, bench) {
    this.index = index;            // position on the bench (LDAC wiring), not its address
    this.address = address;
    this.eepromAddress = address;
    this.ldacGpio = ldacGpio;
    this.bench = bench;
    this.mcu = null;
    this.bus = null;
    this.codes = [0, 0, 0, 0];
    this.held = new Map();         // input registers not yet uploaded (UDAC = 1, LDAC high)
    this.ldacWasHigh = false;
    this.vref = [0, 0, 0, 0];
    this.gain = [0, 0, 0, 0];
    this.eepromWrites = 0;
    this.busyUntil = -1;
    this.out = [];
    this.newTransfer(true);
  }

  /** LDAC level: high only while the Pico drives its GPIO high (a pull-down holds it low). */
  ldacHigh() {
    return this.mcu.gpio[this.ldacGpio].value === GPIOPinState.High;
  }

  attachPins(mcu, bus) {
    this.mcu = mcu;
    this.bus = bus;
    mcu.gpio[this.ldacGpio].addListener(() => this.ldacChanged());
  }

  ready() {
    const now = this.mcu.clock.nanos;
    if (this.busyUntil >= 0 && now >= this.busyUntil) {
      this.busyUntil = -1;
      this.eepromAddress = this.address;
    }
    return this.busyUntil < 0;
  }

  log(what) {
    this.bench.link.send(`log MCP4728 #${this.index} (LDAC GP${this.ldacGpio}): ${what}`);
  }

  set(ch, code) {
    if (this.codes[ch] !== code) {
      this.codes[ch] = code;
      this.bench.dacChanged();
    }
  }

  /** A write through the RP2040's I2C block (the server's commands). */
  write(bytes) {
    if (!this.ready()) {
      this.log('write while the EEPROM write is in progress (RDY/BSY low): ignored');
      return;
    }
    const first = bytes[0];
    if ((first & 0xc0) === 0x00) {                        // Fast Write: 2 bytes per channel
      for (let i = 0; i + 1 < bytes.length; i += 2) {
        this.set((i >> 1) % 4, ((bytes[i] & 0x0f) << 8) | bytes[i + 1]);
      }
    } else if ((first & 0xf0) === 0x40 || (first & 0xf8) === 0x58) {
      // Multi-Write (0100 0xxx), Sequential (0101 0xxx) and Single Write (0101 1xxx):
      // 3 bytes per channel; the last two also write the EEPROM
      if ((first & 0xf0) === 0x50) {
        this.eepromWrites += 1;
        this.busyUntil = this.mcu.clock.nanos + EEPROM_WRITE_NS;
      }
      for (let i = 0; i + 2 < bytes.length; i += 3) {
        const ch = (bytes[i] >> 1) & 3;
        this.vref[ch] = bytes[i + 1] >> 7;
        this.gain[ch] = (bytes[i + 1] >> 4) & 1;
        const code = ((bytes[i + 1] & 0x0f) << 8) | bytes[i + 2];
        // Table 4-5 / Fig. 5-8 note 1: the output follows at the ACK if UDAC = 0 or LDAC
        // is low; UDAC = 1 with LDAC high fills the input register only
        if ((bytes[i] & 1) && this.ldacHigh()) {
          this.held.set(ch, code);
        } else {
          this.held.delete(ch);
          this.set(ch, code);
        }
      }
    } else if ((first & 0xf0) === 0x80) {
      for (let ch = 0; ch < 4; ch++) this.vref[ch] = (first >> (3 - ch)) & 1;
    } else if ((first & 0xf0) === 0xc0) {
      for (let ch = 0; ch < 4; ch++) this.gain[ch] = (first >> (3 - ch)) & 1;
    }
  }

  /** The read-back (Fig. 5-15): per channel the DAC register then the EEPROM, 3 bytes each. */
  startRead() {
    const bits = this.address - BASE_ADDRESS;
    const status = (this.ready() ? 0x80 : 0) | 0x40;     // RDY/BSY, POR
    this.out = [];
    for (let ch = 0; ch < 4; ch++) {
      const b1 = (this.vref[ch] << 7) | (this.gain[ch] << 4) | (this.codes[ch] >> 8);
      const b2 = this.codes[ch] & 0xff;
      this.out.push(status | (ch << 4) | bits, b1, b2, status | (ch << 4) | bits, b1, b2);
    }
  }

  readByte() {
    return this.out.length ? this.out.shift() : 0xff;
  }

  // -- pin level (gpio_i2c.mjs) ------------------------------------------------------------
  newTransfer(high) {
    this.t = { bytes: [], mine: false, restarted: false, window: new LdacWindow(high), selected: false };
  }

  start(repeated) {
    if (repeated) this.t.restarted = true;
    else this.newTransfer(this.ldacHigh());
  }

  stop() {
    if (this.t.refusal) this.log(`3rd byte not acknowledged: ${this.t.refusal}`);
    this.newTransfer(true);
  }

  ldacChanged() {
    // Table 4-5: LDAC low updates all DAC channel outputs from their input registers; the
    // bench dates the update at this edge (no bus transfer in between)
    const high = this.ldacHigh();
    if (this.ldacWasHigh && !high) {
      for (const [ch, code] of this.held) this.set(ch, code);
      this.held.clear();
    }
    this.ldacWasHigh = high;
    if (!this.bus || !this.bus.active) return;
    const { window } = this.t;
    window.ldacChanged(this.ldacHigh(), this.bus.position);
    if (this.t.selected && !window.ok) {       // LDAC rose during byte 3's ACK slot (note 2c)
      this.t.selected = false;
      this.t.refusal = window.reason;
      this.bus.pull(this, false);
    }
  }

  edge(pos) {
    if (!pos.high) return;
    this.t.window.clockRose(pos);
    const b = this.t.bytes;
    const ldacCommand = b.length >= 2 && ((b[0] === 0 && b[1] === READ_ADDRESS_BITS) || (b[1] & 0xe3) === 0x61);
    if (ldacCommand && this.bus.periodNs < MIN_PERIOD_NS && !this.t.fast) {
      this.t.fast = true;
      this.log(`SCL period ${(this.bus.periodNs / 1000).toFixed(2)} us: the address commands allow 400 kHz at most`);
    }
  }

  received(index, value, isAddress) {
    this.t.bytes.push(value);
    if (isAddress && index === 0) return this.addressed(value);
    if (!this.t.mine) return false;
    if (isAddress) return this.readAddressBits(value);
    return this.commandByte(index, value);
  }

  addressed(value) {
    const addr = value >> 1;
    const read = value & 1;
    if (addr === GENERAL_CALL && !read) {
      this.t.mine = true;
    } else if (addr === this.address) {
      this.t.mine = true;
      if (read) {
        this.startRead();
      } else if (!this.ready()) {
        this.log('write command while the EEPROM write is in progress (RDY/BSY low): ignored');
        this.t.mine = false;
        return true;
      }
    }
    return this.t.mine;
  }

  commandByte(index, value) {
    const b = this.t.bytes;
    if (b[0] === GENERAL_CALL) return index === 1 && [0x06, 0x08, 0x09, READ_ADDRESS_BITS].includes(value);
    if ((b[1] & 0xe3) !== 0x61) return true;           // other commands: through the I2C block
    if (index === 1) return true;                       // byte 2: acknowledged by every chip
    if (index === 2) {
      const ok = ((b[1] >> 2) & 7) === this.address - BASE_ADDRESS && (value & 0xe3) === 0x62;
      return this.select(ok, "byte 2 did not carry this chip's address bits");
    }
    if (index === 3 && this.t.selected) {
      if ((value & 0xe3) === 0x63 && ((value >> 2) & 7) === ((b[2] >> 2) & 7)) {
        this.program((value >> 2) & 7);
        return true;
      }
      this.log('confirmation byte does not repeat the new address bits');
    }
    return false;
  }

  select(contentOk, why) {
    const { window } = this.t;
    if (!window.fell) window.fail('LDAC had not fallen by the 3rd byte (note 2b)');
    if (!window.ok) this.t.refusal = window.reason;
    else if (!contentOk) this.t.refusal = why;
    this.t.selected = window.ok && contentOk;
    return this.t.selected;
  }

  readAddressBits(value) {
    const b = this.t.bytes;
    if (!(b.length === 3 && this.t.restarted && b[0] === GENERAL_CALL && b[1] === READ_ADDRESS_BITS
          && (value >> 4) === 0x0c && (value & 1))) return false;
    if (!this.select(true, '')) return false;
    const reg = this.address - BASE_ADDRESS;
    const rom = this.eepromAddress - BASE_ADDRESS;
    this.out = [(rom << 5) | 0x10 | (reg << 1)];
    return true;
  }

  nextReadByte() {
    return this.readByte();
  }

  program(bits) {
    // note 4: the EEPROM write starts at the falling edge of this ACK; the register copy
    // answers at once, the EEPROM copy holds it when RDY/BSY rises again
    this.address = BASE_ADDRESS + bits;
    this.busyUntil = this.mcu.clock.nanos + EEPROM_WRITE_NS;
    this.eepromWrites += 1;
    this.bench.addressChanged(this);
  }
}
