"""Tests of the zswap models."""
