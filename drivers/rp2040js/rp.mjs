// rp2040js, from this folder's node_modules (`npm ci` here) or from the folder named by
// WPHIL_RP2040JS (a folder holding node_modules/rp2040js), which drivers/rp2040.py resolves.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const home = process.env.WPHIL_RP2040JS;
const entry = home
  ? pathToFileURL(path.join(home, 'node_modules', 'rp2040js', 'dist', 'esm', 'index.js')).href
  : 'rp2040js';
const rp = await import(entry);
export const { RP2040, USBCDC, I2CMode, GPIOPinState } = rp;
