// Replays a trace of the Pico's pin calls (recorded by wphil.drivers.chipmodels.pins.Board)
// against the emulated MCP4728s of drivers/rp2040js, outside the emulator:
//
//   node replay_mcp4728.mjs < [{"sda":4,"scl":5,"chips":[{"address":96,"ldac":6}],
//                               "events":[[seconds, gpio, "H"|"L"|"Z"], ...]}, ...]
//
// prints, per trace, {"acks": [SDA low at each 9th clock's rise], "addresses": [...],
// "eeprom_writes": [...], "logs": [...]}. GPIOs are stand-ins with the rp2040js pin
// interface the models use; time is the trace's.
import fs from 'node:fs';
import { GPIOPinState } from '../../drivers/rp2040js/rp.mjs';
import { GpioI2cResponder } from '../../drivers/rp2040js/gpio_i2c.mjs';
import { Mcp4728 } from '../../drivers/rp2040js/mcp4728.mjs';

class Pin {
  constructor() {
    this.value = GPIOPinState.Input;
    this.input = true;
    this.listeners = new Set();
  }

  addListener(cb) { this.listeners.add(cb); }

  setInputValue(v) { this.input = v; }

  set(state) {
    const value = { H: GPIOPinState.High, L: GPIOPinState.Low, Z: GPIOPinState.Input }[state];
    if (value === this.value) return;
    this.value = value;
    for (const cb of this.listeners) cb(value);
  }
}

function replay(spec) {
  const mcu = { gpio: Array.from({ length: 30 }, () => new Pin()), clock: { nanos: 0 } };
  const logs = [];
  const bench = {
    config: {},
    ads: null,
    link: { send: (line) => logs.push(line) },
    dacChanged() {},
    addressChanged() {},
  };
  bench.chips = spec.chips.map((c, i) => new Mcp4728(i, c.address, c.ldac, bench));
  for (const chip of bench.chips) chip.mcu = mcu;
  const bus = new GpioI2cResponder(mcu, spec.sda, spec.scl, bench);
  const acks = [];
  for (const [t, gpio, state] of spec.events) {
    mcu.clock.nanos = t * 1e9;
    const before = bus.clockNo;
    mcu.gpio[gpio].set(state);
    if (gpio === spec.scl && state !== 'L' && bus.active && bus.clockNo === 9 && before === 8) {
      acks.push(!mcu.gpio[spec.sda].input);
    }
  }
  return {
    acks,
    addresses: bench.chips.map((c) => c.address),
    eeprom_writes: bench.chips.map((c) => c.eepromWrites),
    logs,
  };
}

const specs = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(specs.map(replay)));
