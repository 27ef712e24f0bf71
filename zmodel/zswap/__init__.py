"""Models of zswap and the kernel structures it uses."""
