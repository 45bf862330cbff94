// The emulated ADS1115 of rp2040:// (drivers/rp2040js/converters.mjs) outside the emulator:
// start a single-shot conversion at 860 SPS and read the Config register's OS bit and the
// Conversion register at the emulated times given on the command line (us after the start).
//
//   node ads1115_timing.mjs 100 1200 1400   ->   [[os, code, logs], ...]
import { Ads1115 } from '../../drivers/rp2040js/converters.mjs';

const logs = [];
const bench = {
  mcu: { clock: { nanos: 0 } },
  convert: (channel) => 1000 + channel,
  link: { send: (line) => logs.push(line) },
};
const adc = new Ads1115(bench);
adc.write([1, 0xc3 | 0x10, 0xe3]);     // OS=1, MUX=AIN1 vs GND (101), single-shot, 860 SPS
const out = [];
for (const us of process.argv.slice(2).map(Number)) {
  bench.mcu.clock.nanos = us * 1e3;
  adc.write([1]);
  adc.startRead();
  const os = adc.readByte() >> 7;
  adc.write([0]);
  adc.startRead();
  const code = (adc.readByte() << 8) | adc.readByte();
  out.push([os, code, logs.splice(0)]);
}
process.stdout.write(JSON.stringify(out));
