file(REMOVE_RECURSE
  "libpupa-guest-libc.a"
)
