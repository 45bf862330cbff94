# RK4 for the simulated recurrent network (network.py, the twin of drivers/dynamics.py):
#   tau_i da_i/dt = -a_i + vsat_i tanh(net_i / vsat_i),  net_i = drive_i + sum_j w_ij a_j
# compiled by MicroPython's native emitter, where the port has one (native.py loads this
# file without the decorators where it has not): about twice the speed of bytecode here,
# the same arithmetic. Per neuron, `coeffs` holds (1/vsat, vsat/tau, 1/tau, feedback as
# (weight, source) pairs) and `drive` the net input from the bias and the held inputs.
import math

import micropython


@micropython.native
def slope(a, drive, coeffs):
    """d(state)/dt at state a, per neuron."""
    tanh, out, i = math.tanh, [], 0
    for inv_vsat, vsat_tau, inv_tau, feedback in coeffs:
        net = drive[i]
        for wk, j in feedback:
            net += wk * a[j]
        out.append(vsat_tau * tanh(net * inv_vsat) - inv_tau * a[i])
        i += 1
    return out


@micropython.native
def integrate(a, drive, coeffs, steps, h):
    """The state after `steps` RK4 steps of h microseconds from state a."""
    half, sixth = 0.5 * h, h / 6.0
    for _ in range(steps):
        k1 = slope(a, drive, coeffs)
        k2 = slope([x + half * d for x, d in zip(a, k1)], drive, coeffs)
        k3 = slope([x + half * d for x, d in zip(a, k2)], drive, coeffs)
        k4 = slope([x + h * d for x, d in zip(a, k3)], drive, coeffs)
        a = [x + sixth * (d1 + 2 * (d2 + d3) + d4)
             for x, d1, d2, d3, d4 in zip(a, k1, k2, k3, k4)]
    return a
