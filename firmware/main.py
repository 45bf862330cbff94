# Boot: serve the wphil wire protocol on the USB serial line until told to stop
# (EXIT, or Ctrl-C twice outside a frame), then fall back to the REPL.
import board
import server

board.boot(server.run)
