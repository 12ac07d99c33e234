"""Vendor API emulators, one module per vendor (each exports ``EMULATOR``)."""
