"""Cartridge language server and headless CLI: a thin layer over cartridge_core."""
