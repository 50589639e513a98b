file(REMOVE_RECURSE
  "libpupa-guest-libc-host.a"
)
