// The Pico's USB CDC serial port, relayed to this process's stdin/stdout.
//
// rp2040js's USBCDC answers every armed OUT endpoint at once, with zero bytes when the host
// has nothing to send: TinyUSB re-arms it and the core never sleeps (one transfer per 10 us
// of emulated time). A real host only completes an OUT transfer when it has data, so the
// read is kept pending here until bytes arrive, then answered with as many as fit.
import { USBCDC } from './rp.mjs';

export class SerialRelay {
  constructor(onDeviceBytes) {
    this.onDeviceBytes = onDeviceBytes;   // (Uint8Array) => void: device -> host
    this.queue = [];                      // host -> device chunks not yet taken
    this.queued = 0;
    this.pending = 0;                     // size of the armed OUT transfer, 0 if none
    this.connected = false;
    this.onConnected = null;
    this.cdc = null;
  }

  /** Wire a (new) chip's USB controller; called at every boot. */
  attach(mcu) {
    this.usb = mcu.usbCtrl;
    this.pending = 0;
    this.connected = false;
    this.cdc = new USBCDC(mcu.usbCtrl);
    this.cdc.onDeviceConnected = () => {
      this.connected = true;
      if (this.onConnected) this.onConnected();
    };
    this.cdc.onSerialData = (data) => this.onDeviceBytes(data);
    this.usb.onEndpointRead = (endpoint, size) => {
      // other OUT endpoints (EP0's status stage) are left unanswered, as stock USBCDC does
      if (endpoint === this.cdc.outEndpoint) {
        this.pending = size;
        this.deliver();
      }
    };
  }

  /** Bytes from the host. Before enumeration they are dropped, as a real port would. */
  push(chunk) {
    if (!this.connected) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.deliver();
  }

  /** Drop what the host sent but the device has not taken (a reset loses it). */
  clear() {
    this.queue = [];
    this.queued = 0;
  }

  deliver() {
    if (!this.pending || !this.queued) return;
    const out = new Uint8Array(Math.min(this.pending, this.queued));
    let n = 0;
    while (n < out.length) {
      const head = this.queue[0];
      const take = Math.min(head.length, out.length - n);
      out.set(head.subarray(0, take), n);
      n += take;
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
    }
    this.queued -= n;
    this.pending = 0;
    this.usb.endpointReadDone(this.cdc.outEndpoint, out);
  }
}
