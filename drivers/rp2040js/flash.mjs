// The Pico's 2 MB QSPI flash for rp2040js: the UF2 payload, the persisted filesystem,
// and the flash writes stock rp2040js lacks.
//
// rp2040js emulates the SSI's registers but not a flash chip behind them, so the ROM's
// flash_range_erase/flash_range_program would run and change nothing (littlefs then fails
// to format: OSError ENODEV). MicroPython reaches both through the ROM function table
// (rom_func_lookup), so their entries are patched to a BKPT and the erase/program is done
// here, in onBreak, on the emulator's flash array; then the call returns to LR.
import fs from 'node:fs';

const FLASH_SIZE = 2 * 1024 * 1024;
const XIP_BASE = 0x10000000;
const UF2_MAGIC0 = 0x0a324655;
const UF2_MAGIC1 = 0x9e5d5157;
const SECTOR = 4096;
export const BKPT_ERASE = 0xe0;
export const BKPT_PROGRAM = 0xe1;
const ROM_TABLE_PTR = 0x14;            // 16-bit pointer to the ROM's function table
const romCode = (a, b) => a.charCodeAt(0) | (b.charCodeAt(0) << 8);

/** The UF2's payload blocks as [flashOffset, Uint8Array] pairs. */
export function uf2Blocks(path) {
  const data = fs.readFileSync(path);
  const blocks = [];
  for (let pos = 0; pos + 512 <= data.length; pos += 512) {
    if (data.readUInt32LE(pos) !== UF2_MAGIC0 || data.readUInt32LE(pos + 4) !== UF2_MAGIC1) {
      throw new Error(`${path}: not a UF2 file (bad magic at byte ${pos})`);
    }
    const addr = data.readUInt32LE(pos + 12);
    const size = data.readUInt32LE(pos + 16);
    blocks.push([addr - XIP_BASE, data.subarray(pos + 32, pos + 32 + size)]);
  }
  if (!blocks.length) throw new Error(`${path}: empty UF2 file`);
  return blocks;
}

/** The boot ROM with flash_range_erase/flash_range_program turned into breakpoints. */
export function patchedBootrom(path) {
  const rom = new Uint8Array(fs.readFileSync(path));
  const view = new DataView(rom.buffer);
  const patch = (code, bkpt) => {
    for (let p = view.getUint16(ROM_TABLE_PTR, true); ; p += 4) {
      const c = view.getUint16(p, true);
      if (!c) throw new Error(`boot ROM: no function ${code} in its table`);
      if (c === romCode(...code)) {
        view.setUint16(view.getUint16(p + 2, true) & ~1, 0xbe00 | bkpt, true);
        return;
      }
    }
  };
  patch('RE', BKPT_ERASE);
  patch('RP', BKPT_PROGRAM);
  return new Uint32Array(rom.buffer);
}

/** The flash contents: the saved image (the board's filesystem) with the UF2 laid over it. */
export class FlashImage {
  constructor(imagePath, uf2Path) {
    this.path = imagePath;
    this.data = new Uint8Array(FLASH_SIZE).fill(0xff);
    if (imagePath && fs.existsSync(imagePath)) {
      const saved = fs.readFileSync(imagePath);
      this.data.set(saved.subarray(0, FLASH_SIZE));
    }
    for (const [offset, bytes] of uf2Blocks(uf2Path)) this.data.set(bytes, offset);
    this.dirty = false;
    this.timer = null;
  }

  /** Handle a patched ROM call; true if the breakpoint was one of ours. */
  onBreak(code, mcu) {
    const r = mcu.core.registers;
    if (code === BKPT_ERASE) {
      const start = r[0], count = r[1];               // (addr, count, block, cmd)
      if (start % SECTOR || count % SECTOR) {
        throw new Error(`flash erase of ${count} bytes at ${start}: not whole sectors`);
      }
      mcu.flash.fill(0xff, start, start + count);
    } else if (code === BKPT_PROGRAM) {
      const start = r[0], src = r[1], count = r[2];   // (addr, data, count)
      for (let i = 0; i < count; i++) {
        mcu.flash[start + i] &= mcu.readUint8(src + i);   // NOR flash: programming clears bits
      }
    } else {
      return false;
    }
    mcu.core.PC = mcu.core.LR & ~1;
    this.changed(mcu);
    return true;
  }

  changed(mcu) {
    this.data = mcu.flash;
    this.dirty = true;
    if (!this.timer) this.timer = setTimeout(() => this.save(), 200);
  }

  /** Write the image atomically (a crash mid-write leaves the previous one). */
  save() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.dirty || !this.path) return;
    const tmp = `${this.path}.tmp`;
    fs.writeFileSync(tmp, this.data.subarray(0, FLASH_SIZE));
    fs.renameSync(tmp, this.path);
    this.dirty = false;
  }
}
