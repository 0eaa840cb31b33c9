"""Readers, writers and downloaders for the on-disk formats the experiments use."""
