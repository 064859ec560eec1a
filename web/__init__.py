"""Pages: the health check, the simulator (emulator mode only) and, later,
the operators' console.  Blueprints registered by app.py."""
