// MCP4728 quad 12-bit DAC (Microchip DS22187E), byte for byte as the firmware drives it:
// Fast Write, Multi-Write, Sequential/Single Write (which also program the EEPROM, counted),
// Vref, Gain, Power-Down, the 24-byte read-back, and "Write I2C Address Bits" (C2C1C0 =
// 011), which only a chip whose LDAC pin falls during the 8th clock of the second byte
// and stays low through the third takes.
import { GPIOPinState } from './rp.mjs';

const BASE_ADDRESS = 0x60;   // 1100 A2 A1 A0

export class Mcp4728 {
  constructor(index, address, ldacGpio, bench) {
    this.index = index;            // position on the bench (LDAC wiring), not its address
    this.address = address;
    this.ldacGpio = ldacGpio;
    this.bench = bench;
    this.mcu = null;
    this.codes = [0, 0, 0, 0];
    this.vref = [0, 0, 0, 0];
    this.gain = [0, 0, 0, 0];
    this.eepromWrites = 0;
    this.out = [];
  }

  /** LDAC level: high only while the Pico drives its GPIO high (a pull-down holds it low). */
  ldacHigh() {
    return this.mcu.gpio[this.ldacGpio].value === GPIOPinState.High;
  }

  set(ch, code) {
    if (this.codes[ch] !== code) {
      this.codes[ch] = code;
      this.bench.dacChanged();
    }
  }

  write(bytes) {
    const first = bytes[0];
    if ((first & 0xc0) === 0x00) {                        // Fast Write: 2 bytes per channel
      for (let i = 0; i + 1 < bytes.length; i += 2) {
        this.set((i >> 1) % 4, ((bytes[i] & 0x0f) << 8) | bytes[i + 1]);
      }
    } else if ((first & 0xf0) === 0x40 || (first & 0xf8) === 0x58) {
      // Multi-Write (0100 0xxx), Sequential (0101 0xxx) and Single Write (0101 1xxx):
      // 3 bytes per channel; the last two also write the EEPROM
      if ((first & 0xf0) === 0x50) this.eepromWrites += 1;
      for (let i = 0; i + 2 < bytes.length; i += 3) {
        const ch = (bytes[i] >> 1) & 3;
        this.vref[ch] = bytes[i + 1] >> 7;
        this.gain[ch] = (bytes[i + 1] >> 4) & 1;
        this.set(ch, ((bytes[i + 1] & 0x0f) << 8) | bytes[i + 2]);
      }
    } else if ((first & 0xf0) === 0x80) {
      for (let ch = 0; ch < 4; ch++) this.vref[ch] = (first >> (3 - ch)) & 1;
    } else if ((first & 0xf0) === 0xc0) {
      for (let ch = 0; ch < 4; ch++) this.gain[ch] = (first >> (3 - ch)) & 1;
    }
    // 0xA0 power-down and the address command without LDAC: nothing the network sees
  }

  /**
   * "Write I2C Address Bits", seen at pin level (bytes after the address byte, and the
   * LDAC levels at bit 1 and bit 8 of the 2nd byte and at the end of the 3rd).
   */
  addressWrite(bytes, ldac) {
    if (bytes.length !== 3) return false;
    const [cur, next, confirm] = bytes;
    const bits = this.address - BASE_ADDRESS;
    const ok = (cur & 0xe3) === 0x61 && ((cur >> 2) & 7) === bits
      && (next & 0xe3) === 0x62 && (confirm & 0xe3) === 0x63
      && ((next >> 2) & 7) === ((confirm >> 2) & 7)
      && ldac.before && !ldac.at8 && !ldac.at3;
    if (ok) {
      this.address = BASE_ADDRESS + ((next >> 2) & 7);
      this.eepromWrites += 1;
      this.bench.addressChanged(this);
    }
    return ok;
  }

  /** The read-back: per channel, the DAC register then the EEPROM, 3 bytes each. */
  startRead() {
    const bits = this.address - BASE_ADDRESS;
    this.out = [];
    for (let ch = 0; ch < 4; ch++) {
      const b1 = (this.vref[ch] << 7) | (this.gain[ch] << 4) | (this.codes[ch] >> 8);
      const b2 = this.codes[ch] & 0xff;
      this.out.push(0xc0 | (ch << 4) | bits, b1, b2, 0xc8 | (ch << 4) | bits, b1, b2);
    }
  }

  readByte() {
    return this.out.length ? this.out.shift() : 0xff;
  }
}
